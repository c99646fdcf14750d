"""One recording to 1,000 parents on Telegram: time, 429s, uploads.

``python -m bench.telegram_fanout [--chats N]``

The TelegramAdapter talks through PTB's real HTTP stack to the local Bot API
server of the tests, which enforces Telegram's limits (30 messages/s for the
bot, 1/s per private chat). Sends are paced at the adapter's
``capabilities.global_rate_per_s`` (25/s by default) by a minimal paced loop
standing in for the core's delivery workers; the first send uploads the
voice note and the others reuse the returned file_id.

Baseline, same run, same pacing: the naive way, uploading the file to every
chat. The floor is the time the global rate allows: (N - 1) / rate.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from adapters.telegram import TelegramAdapter
from bot.ports import MediaFile, OutboundAudio, OutboundMessage, RateLimited
from tests.telegram_api import FakeTelegram, running_fake_api
from tests.telegram_api.harness import Inbox

VOICE_BYTES = 160_000  # ~40 s of mono Opus at 32 kbit/s


@dataclass
class Run:
    wall_s: float
    rate_limited: int
    uploads: int
    upload_bytes: int
    sent: int


class Pacer:
    """Start times at most ``rate`` per second overall and one per
    ``per_chat_s`` for a chat: what the delivery workers guarantee."""

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
) -> dict[str, str]:
    while True:
        await pacer.wait(message.chat_id)
        try:
            receipt = await adapter.send(message)
        except RateLimited as exc:
            stats["429"] += 1
            await asyncio.sleep(exc.retry_after)
            continue
        stats["sent"] += 1
        return receipt.media_refs


async def fan_out(audio: OutboundAudio, chats: Sequence[str], *, reuse: bool) -> Run:
    async with running_fake_api(FakeTelegram()) as fake:
        adapter = TelegramAdapter(fake.token, fake.url)
        await adapter.connect(Inbox())
        try:
            caps = adapter.capabilities
            pacer = Pacer(caps.global_rate_per_s, caps.per_chat_interval_s)
            stats = {"429": 0, "sent": 0}
            start = time.monotonic()
            refs = await _deliver(adapter, pacer, OutboundMessage(chats[0], audio=audio), stats)
            if reuse:
                audio = replace(audio, voice=replace(audio.voice, cached_ref=refs.get("voice")))
            tasks = []
            for chat in chats[1:]:
                tasks.append(
                    asyncio.create_task(
                        _deliver(adapter, pacer, OutboundMessage(chat, audio=audio), stats)
                    )
                )
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
        voice=MediaFile(voice, "audio/ogg", VOICE_BYTES, "voice"),
        compat=MediaFile(compat, "audio/mp4", VOICE_BYTES, "compat"),
        duration_s=40.0,
        title="Le loup – groupe 1",
    )


async def measure(chats: int = 1000) -> list[dict[str, Any]]:
    ids = [str(10_000 + i) for i in range(chats)]
    with tempfile.TemporaryDirectory() as tmp:
        audio = _recording(Path(tmp))
        ours = await fan_out(audio, ids, reuse=True)
        naive = await fan_out(audio, ids, reuse=False)
    rate = TelegramAdapter("0:x").capabilities.global_rate_per_s
    floor = (chats - 1) / rate
    return [
        {
            "figure": f"wall time, {chats} chats (s)",
            "goal": f"<= {floor * 1.15:.1f} (floor {floor:.1f} at {rate:g}/s)",
            "measured": round(ours.wall_s, 2),
            "baseline": round(naive.wall_s, 2),
            "ratio": round(ours.wall_s / floor, 3),
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
    print("Telegram fan-out: one recording to every parent (minimal paced loop)")
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
