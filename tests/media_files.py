"""A local file as the core hands it to an adapter (adapter tests, benches)."""

from __future__ import annotations

import hashlib
from pathlib import Path

from bot.ports import MediaFile


def media_file(path: Path, mime: str, variant: str, cached_ref: str | None = None) -> MediaFile:
    data = path.read_bytes()

    async def load() -> bytes:
        return data

    ref = hashlib.sha256(data).hexdigest()
    return MediaFile(ref, mime, len(data), variant, load, cached_ref)
