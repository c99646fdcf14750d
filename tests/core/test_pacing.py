from __future__ import annotations

import asyncio
import itertools

from bot.delivery.pacing import Pacer
from bot.ports import Capabilities


class FakeTime:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_senders_released_together_are_spread_over_the_global_rate() -> None:
    time = FakeTime()
    pacer = Pacer(Capabilities(global_rate_per_s=25.0, per_chat_interval_s=1.0), time)
    delays = [pacer.reserve(f"chat{i}") for i in range(50)]
    assert delays[0] == 0
    assert all(abs(b - a - 0.04) < 1e-9 for a, b in itertools.pairwise(delays))
    assert abs(delays[-1] - 49 * 0.04) < 1e-9


def test_one_chat_waits_its_interval_and_a_429_pauses_only_that_chat() -> None:
    time = FakeTime()
    pacer = Pacer(Capabilities(global_rate_per_s=1000.0, per_chat_interval_s=1.0), time)
    assert pacer.reserve("papa") == 0
    assert abs(pacer.reserve("papa") - 1.0) < 1e-9
    pacer.pause_chat("maman", 30)
    assert pacer.chat_ready_in("maman") == 30
    assert pacer.chat_ready_in("tom") == 0
    pacer.pause_all(5)
    assert pacer.global_ready_in() == 5


async def test_a_chat_waiting_for_its_interval_does_not_hold_the_others_back() -> None:
    """A digest's second message waits a second for its chat; meanwhile the
    bot keeps sending to other chats at its rate."""
    pacer = Pacer(Capabilities(global_rate_per_s=10.0, per_chat_interval_s=1.0))
    pacer.take("papa")  # papa was just sent a message: next one in 1 s
    done: list[str] = []

    async def send(chat: str) -> None:
        await pacer.wait_turn(chat)
        done.append(chat)

    await asyncio.gather(send("papa"), *(send(f"famille{i}") for i in range(5)))
    # Five other families (0.5 s at 10/s) all before papa's second message.
    assert done[-1] == "papa", done
