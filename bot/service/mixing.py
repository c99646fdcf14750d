"""Several prepared recordings as one: a digest's period, a whole album.

Built once per content (the hash of its parts, in order), whoever asks and
however many families receive it; concurrent askers wait for one build.
"""

from __future__ import annotations

import asyncio
import hashlib
import tempfile
from pathlib import Path

from bot.audio import AudioRejected
from bot.media_store import MediaMissing
from bot.service.context import Context
from storage.records import Mix

GAP_S = 1.0  # silence between two clips


async def compiled(ctx: Context, voice_shas: list[str], gap_s: float = GAP_S) -> Mix:
    """The recordings as one; raises AudioRejected if a part cannot be read."""
    key = hashlib.sha256(("|".join(voice_shas) + f"|gap={gap_s}").encode()).hexdigest()
    lock = ctx.mix_locks.setdefault(key, asyncio.Lock())
    try:
        async with lock:
            known = await ctx.repos.mixes.get(key)
            media = ctx.media
            if (
                known
                and await media.exists(known.voice_sha)
                and await media.exists(known.compat_sha)
            ):
                return known
            # Local copies of the parts for ffmpeg, gone with the folder.
            with tempfile.TemporaryDirectory(prefix="pv-mix-") as tmp:
                parts = []
                for i, sha in enumerate(voice_shas):
                    part = Path(tmp) / f"part-{i:04d}.ogg"
                    try:
                        await media.fetch(sha, part)
                    except MediaMissing as exc:  # erased meanwhile: as a part ffmpeg cannot read
                        raise AudioRejected("unreadable") from exc
                    parts.append(part)
                out = Path(tmp) / "out"
                out.mkdir()
                built = await ctx.pipeline.concatenate(parts, out, gap_s=gap_s)
                voice = await media.put_file(built.voice_path)
                compat = await media.put_file(built.compat_path)
            mix = Mix(key, voice, compat, built.compat_mime, built.duration_s, built.waveform)
            await ctx.repos.mixes.put(mix, ctx.clock.now())
            return mix
    finally:
        if not lock.locked():
            ctx.mix_locks.pop(key, None)
