"""One upload per file and platform, however many parents wait for it.

The first send of a file without a cached reference goes alone; the others
wait for it, then reuse what it cached (or upload themselves where the
platform gives nothing to reuse, as in encrypted Matrix rooms).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class UploadGate:
    def __init__(self) -> None:
        self._first: dict[str, asyncio.Event] = {}

    @asynccontextmanager
    async def turn(self, key: str) -> AsyncIterator[None]:
        running = self._first.get(key)
        if running is not None:
            await running.wait()
            yield
            return
        done = asyncio.Event()
        self._first[key] = done
        try:
            yield
        finally:
            done.set()
            del self._first[key]
