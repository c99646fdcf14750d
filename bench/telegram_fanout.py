"""One recording to 1,000 parents on Telegram: time, 429s, uploads.

``python -m bench.telegram_fanout [--chats N]``

Measured path: the real service. A :class:`bot.app.Service` with the
TelegramAdapter talks through PTB's real HTTP stack to the local Bot API
server of the tests, which enforces Telegram's limits (30 messages/s for the
bot, 1/s per private chat). The N parents are subscribed directly through the
repositories; one prepared recording is published by the publisher, and the
core's delivery workers drain the outbox at the adapter's
``capabilities.global_rate_per_s`` (25/s by default), uploading the voice
note once and reusing its file_id. Wall time runs from the publish to the
last accepted send.

Baseline, same run: the naive way, a paced loop uploading the file to every
chat. The floor is the time the global rate allows: (N - 1) / rate.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from adapters.telegram import TelegramAdapter
from bot.app import Service
from bot.config import settings_from_mapping
from bot.ports import OutboundAudio, OutboundMessage, RateLimited
from tests.media_files import media_file
from tests.seeding import class_with_held_recording
from tests.telegram_api import FakeTelegram, running_fake_api
from tests.telegram_api.harness import Inbox

VOICE_BYTES = 160_000  # ~40 s of mono Opus at 32 kbit/s
FIRST_CHAT = 10_000


@dataclass
class Run:
    wall_s: float
    rate_limited: int
    uploads: int
    upload_bytes: int
    sent: int


# --------------------------------------------------------------------------
# The service: publisher, outbox, delivery workers
# --------------------------------------------------------------------------


async def _sent_voices(fake: FakeTelegram) -> list[float]:
    return [c.at for c in fake.calls_to("sendVoice") if c.status == 200]


async def service_fan_out(chats: int) -> Run:
    async with running_fake_api(FakeTelegram()) as fake:
        with tempfile.TemporaryDirectory() as tmp:
            data = Path(tmp)
            settings = settings_from_mapping(
                {
                    "storage": {"data_dir": str(data)},
                    "telegram": {"token": fake.token, "api_url": fake.url},
                    "schedule": {"quiet_hours": ""},
                    "delivery": {"grace_seconds": 0},
                },
                {},
                data,
            )
            adapter = TelegramAdapter(fake.token, fake.url, poll_timeout=1.0)
            service = await Service.create(settings, {"telegram": adapter})
            try:
                rec_id = await class_with_held_recording(
                    service.ctx,
                    [str(FIRST_CHAT + i) for i in range(chats)],
                    voice_bytes=VOICE_BYTES,
                    duration_s=40.0,
                )
                await service.start()
                repos = service.ctx.repos
                start = time.monotonic()
                # The undo window is over: the publisher's loop publishes it.
                assert await repos.recordings.release_held(rec_id, service.ctx.clock.now())
                service.ctx.wake.publisher.set()
                deadline = start + 10 * chats / adapter.capabilities.global_rate_per_s + 30
                while len(await _sent_voices(fake)) < chats:
                    if time.monotonic() > deadline:
                        raise RuntimeError("the fan-out did not finish in time")
                    await asyncio.sleep(0.05)
                wall = max(await _sent_voices(fake)) - start
                sent = (await repos.deliveries.counts_by_state())["sent"]
            finally:
                await service.stop()
        return Run(
            wall_s=wall,
            rate_limited=fake.rate_limited_count,
            uploads=fake.upload_count,
            upload_bytes=fake.upload_bytes,
            sent=sent,
        )


# --------------------------------------------------------------------------
# The naive baseline: a paced loop uploading the file to every chat
# --------------------------------------------------------------------------


class Pacer:
    """Start times at most ``rate`` per second overall and one per
    ``per_chat_s`` for a chat."""

    def __init__(self, rate: float, per_chat_s: float) -> None:
        self.interval = 1.0 / rate
        self.per_chat_s = per_chat_s
        self.next_at = time.monotonic()
        self.chat_next: dict[str, float] = {}

    async def wait(self, chat_id: str) -> None:
        now = time.monotonic()
        at = max(self.next_at, self.chat_next.get(chat_id, 0.0), now)
        self.next_at = at + self.interval
        self.chat_next[chat_id] = at + self.per_chat_s
        await asyncio.sleep(at - now)


async def _deliver(
    adapter: TelegramAdapter, pacer: Pacer, message: OutboundMessage, stats: dict[str, int]
) -> None:
    while True:
        await pacer.wait(message.chat_id)
        try:
            await adapter.send(message)
        except RateLimited as exc:
            stats["429"] += 1
            await asyncio.sleep(exc.retry_after)
            continue
        stats["sent"] += 1
        return


async def naive_fan_out(audio: OutboundAudio, chats: Sequence[str]) -> Run:
    async with running_fake_api(FakeTelegram()) as fake:
        adapter = TelegramAdapter(fake.token, fake.url, poll_timeout=1.0)
        await adapter.connect(Inbox())
        try:
            caps = adapter.capabilities
            pacer = Pacer(caps.global_rate_per_s, caps.per_chat_interval_s)
            stats = {"429": 0, "sent": 0}
            start = time.monotonic()
            tasks = []
            for chat in chats:
                message = OutboundMessage(chat, audio=audio)
                tasks.append(asyncio.create_task(_deliver(adapter, pacer, message, stats)))
                # Let this task take its slot before the next one is created.
                await asyncio.sleep(0)
            await asyncio.gather(*tasks)
            wall = time.monotonic() - start
        finally:
            await adapter.disconnect()
        return Run(
            wall_s=wall,
            rate_limited=fake.rate_limited_count,
            uploads=fake.upload_count,
            upload_bytes=fake.upload_bytes,
            sent=stats["sent"],
        )


def _recording(folder: Path) -> OutboundAudio:
    voice = folder / "loup_groupe1.ogg"
    voice.write_bytes(b"OggS" + os.urandom(VOICE_BYTES - 4))
    compat = folder / "loup_groupe1.m4a"
    compat.write_bytes(os.urandom(VOICE_BYTES))
    return OutboundAudio(
        voice=media_file(voice, "audio/ogg", "voice"),
        compat=media_file(compat, "audio/mp4", "compat"),
        duration_s=40.0,
        title="Le loup – groupe 1",
    )


# --------------------------------------------------------------------------


async def measure(chats: int = 1000) -> list[dict[str, Any]]:
    ours = await service_fan_out(chats)
    with tempfile.TemporaryDirectory() as tmp:
        audio = _recording(Path(tmp))
        naive = await naive_fan_out(audio, [str(FIRST_CHAT + i) for i in range(chats)])
    rate = TelegramAdapter("0:x").capabilities.global_rate_per_s
    floor = (chats - 1) / rate
    return [
        {
            "figure": f"wall time, {chats} chats (s)",
            "goal": f"<= {floor * 1.15:.1f} (floor {floor:.1f} at {rate:g}/s)",
            "measured": round(ours.wall_s, 2),
            "baseline": round(naive.wall_s, 2),
            "ratio": round(ours.wall_s / floor, 3) if floor else None,
        },
        {
            "figure": "429 answers",
            "goal": 0,
            "measured": ours.rate_limited,
            "baseline": naive.rate_limited,
            "ratio": None,
        },
        {
            "figure": "uploads",
            "goal": 1,
            "measured": ours.uploads,
            "baseline": naive.uploads,
            "ratio": round(ours.uploads / naive.uploads, 4),
        },
        {
            "figure": "bytes uploaded",
            "goal": VOICE_BYTES,
            "measured": ours.upload_bytes,
            "baseline": naive.upload_bytes,
            "ratio": round(ours.upload_bytes / naive.upload_bytes, 4),
        },
        {
            "figure": "messages delivered",
            "goal": chats,
            "measured": ours.sent,
            "baseline": naive.sent,
            "ratio": None,
        },
    ]


def run(chats: int = 1000) -> list[dict[str, Any]]:
    return asyncio.run(measure(chats))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--chats", type=int, default=1000)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    print("Telegram fan-out: one recording to every parent (service delivery workers)")
    rows = run(args.chats)
    width = max(len(r["figure"]) for r in rows)
    print(f"{'figure':<{width}}  {'goal':>32}  {'measured':>10}  {'baseline':>10}  ratio")
    for r in rows:
        ratio = "" if r["ratio"] is None else r["ratio"]
        print(
            f"{r['figure']:<{width}}  {r['goal']!s:>32}  {r['measured']!s:>10}  "
            f"{r['baseline']!s:>10}  {ratio}"
        )


if __name__ == "__main__":
    main()
