"""A storm of 500s and 429s from the Bot API during a fan-out to 30 parents:
each parent still gets the recording exactly once, the file is stored on
Telegram once, and while the service waits out a long ``retry_after`` it
sleeps (no busy loop: its CPU time stays a small part of the wall time)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from adapters.telegram import TelegramAdapter
from bot.app import Service
from bot.config import settings_from_mapping
from bot.delivery.failures import backoff
from tests.seeding import class_with_held_recording
from tests.telegram_api import FakeTelegram, running_fake_api

pytestmark = pytest.mark.filterwarnings("ignore:.*retry_after.*:DeprecationWarning")

PARENTS = [20_001 + i for i in range(30)]
SERVER_ERRORS = 5
RATE_LIMITS = 45
RETRY_AFTER_S = 8
# The waiting window ends this long before the first send is due again.
MARGIN_S = 0.3
# Below this the window proves too little about sleeping.
MIN_WINDOW_S = 2.0


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    async with running_fake_api(FakeTelegram()) as api:
        yield api


async def until(check: Callable[[], object], what: str, wait_s: float = 60.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait_s
    while not check():
        if loop.time() > deadline:
            raise AssertionError(f"not reached in time: {what}")
        await asyncio.sleep(0.05)


def voices_to(fake: FakeTelegram, chat_id: int) -> int:
    return sum(1 for m in fake.messages_to(chat_id) if m.method in ("sendVoice", "sendAudio"))


async def test_storm_of_429_and_500_delivers_once_without_busy_loop(
    fake: FakeTelegram, tmp_path: Path
) -> None:
    settings = settings_from_mapping(
        {
            "storage": {"data_dir": str(tmp_path)},
            "telegram": {"token": fake.token, "api_url": fake.url},
            "schedule": {"quiet_hours": ""},
            "delivery": {"grace_seconds": 0},
        },
        {},
        tmp_path,
    )
    adapter = TelegramAdapter(fake.token, fake.url, poll_timeout=1.0)
    service = await Service.create(settings, {"telegram": adapter})
    try:
        rec_id = await class_with_held_recording(service.ctx, [str(p) for p in PARENTS])
        await service.start()
        fake.fail_next(SERVER_ERRORS, 500, methods={"sendVoice"})
        fake.fail_next(RATE_LIMITS, 429, methods={"sendVoice"}, retry_after=RETRY_AFTER_S)
        started = time.monotonic()
        assert await service.ctx.repos.recordings.release_held(rec_id, service.ctx.clock.now())
        service.ctx.wake.publisher.set()

        # Every parent's first try met the storm; now all of them wait.
        await until(lambda: len(fake.calls_to("sendVoice")) >= len(PARENTS), "first tries")
        # Nothing is due before the first refused send may be tried again:
        # a 429 waits its retry_after, a 500 its backoff. The window is
        # measured from the fake's own clock, so a slow machine (first tries
        # spread out) shortens it instead of making a retry fall inside.
        first_tries = fake.calls_to("sendVoice")[: len(PARENTS)]
        due_again = min(
            [c.at + RETRY_AFTER_S for c in first_tries if c.status == 429]
            + [c.at + backoff(1).total_seconds() for c in first_tries if c.status == 500]
        )
        await asyncio.sleep(0.2)
        cpu0, wall0 = time.process_time(), time.monotonic()
        await asyncio.sleep(due_again - MARGIN_S - wall0)
        cpu = time.process_time() - cpu0
        window = time.monotonic() - wall0
        calls_in_window = sum(
            1 for c in fake.calls_to("sendVoice") if wall0 <= c.at <= wall0 + window
        )

        await until(lambda: all(voices_to(fake, p) for p in PARENTS), "every parent served")
        wall = time.monotonic() - started
        await asyncio.sleep(1.0)  # anything sent twice would show by now
    finally:
        await service.stop()

    counts = [voices_to(fake, p) for p in PARENTS]
    statuses = [c.status for c in fake.calls_to("sendVoice")]
    upload_tries = sum(1 for c in fake.calls_to("sendVoice") if c.upload_bytes)
    stored = sum(1 for c in fake.calls_to("sendVoice") if c.upload_bytes and c.status == 200)
    print(
        f"\nstorm: {len(PARENTS)} parents, {statuses.count(500)} x 500, {statuses.count(429)} "
        f"x 429 (retry_after {RETRY_AFTER_S} s); all delivered in {wall:.1f} s; "
        f"{len(statuses)} sendVoice calls, {upload_tries} upload tries, {stored} stored; "
        f"waiting window {window:.2f} s: CPU {cpu * 1000:.0f} ms "
        f"({100 * cpu / window:.1f} %), {calls_in_window} sends"
    )
    assert counts == [1] * len(PARENTS)
    assert statuses.count(500) == SERVER_ERRORS
    assert statuses.count(429) == RATE_LIMITS
    assert stored == 1
    # Once the file is stored on Telegram, nobody uploads it again.
    sends = fake.calls_to("sendVoice")
    first_stored = next(i for i, c in enumerate(sends) if c.upload_bytes and c.status == 200)
    assert not any(c.upload_bytes for c in sends[first_stored + 1 :])
    # The window was a wait (nothing was due) and the process mostly slept.
    assert window >= MIN_WINDOW_S, f"first tries spread over too long: {window:.2f} s left"
    assert calls_in_window == 0
    assert cpu < 0.10 * window
