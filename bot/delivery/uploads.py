"""One upload per file and platform, however many parents wait for it.

The first send of a file goes alone; the others wait for it, then reuse what
it cached (or upload themselves where the platform gives nothing to reuse,
as in encrypted Matrix rooms). When that first send fails (a 429, a 5xx, a
stop), the next one waiting goes alone in its turn: a storm never turns
into one upload per parent.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

MAX_OPEN = 10_000


class UploadGate:
    def __init__(self) -> None:
        self._locks: dict[str, asyncio.Lock] = {}
        # Files whose first send went through: everyone may go at once.
        self._open: set[str] = set()

    def is_open(self, key: str) -> bool:
        return key in self._open

    @asynccontextmanager
    async def turn(self, key: str) -> AsyncIterator[bool]:
        """Yields whether this send had to wait for another one (its pacing
        slot has then passed: the caller books a new one)."""
        if key in self._open:
            yield False
            return
        lock = self._locks.setdefault(key, asyncio.Lock())
        waited = lock.locked()
        await lock.acquire()
        if key in self._open:  # the one before went through while we waited
            lock.release()
            yield True
            return
        try:
            yield waited
        finally:
            lock.release()
        # Only reached when the send went through (no exception).
        if len(self._open) >= MAX_OPEN:
            self._open.clear()
        self._open.add(key)
        if not lock.locked():
            self._locks.pop(key, None)
