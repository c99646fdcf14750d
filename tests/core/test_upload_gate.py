"""The upload gate: one upload at a time until one went through."""

from __future__ import annotations

import asyncio

import pytest

from bot.delivery.uploads import UploadGate


async def test_after_a_failed_first_send_the_next_goes_alone() -> None:
    gate = UploadGate()
    running = 0
    most = 0
    outcomes = ["fail", "fail", "ok", "ok", "ok", "ok"]
    order: list[str] = []

    async def send(i: int) -> None:
        nonlocal running, most
        async with gate.turn("telegram:abc"):
            running += 1
            most = max(most, running)
            await asyncio.sleep(0.01)
            running -= 1
            order.append(outcomes[i])
            if outcomes[i] == "fail":
                raise RuntimeError("429")

    results = await asyncio.gather(*(send(i) for i in range(6)), return_exceptions=True)
    assert [isinstance(r, RuntimeError) for r in results] == [True, True] + [False] * 4
    # The two failures and the first success each went alone; the rest together.
    assert order[:3] == ["fail", "fail", "ok"]
    assert gate.is_open("telegram:abc")
    assert most == 3


async def test_a_stopped_first_send_hands_the_turn_on() -> None:
    gate = UploadGate()
    entered = asyncio.Event()

    async def first() -> None:
        async with gate.turn("k"):
            entered.set()
            await asyncio.sleep(10)

    task = asyncio.create_task(first())
    await entered.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    async with asyncio.timeout(1):
        async with gate.turn("k"):
            pass
    assert gate.is_open("k")
