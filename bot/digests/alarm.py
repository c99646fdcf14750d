"""APScheduler as an alarm clock: it only wakes the planner.

The scheduler lives in our running loop with its in-memory job store; it
decides nothing. What is due and what was sent is read from the database at
each tick, so a tick missed, late or doubled changes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import UTC

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

log = logging.getLogger("petites_voix.digests")

JOB_ID = "digest-planner"


class Alarm:
    def __init__(self, wake: Callable[[], Awaitable[object]], every_s: float = 60.0) -> None:
        self._wake = wake
        self.every_s = every_s
        self.scheduler: AsyncIOScheduler | None = None
        self.ticks = 0

    def start(self) -> None:
        """Call from inside the running event loop."""
        scheduler = AsyncIOScheduler(timezone=UTC)
        scheduler.add_job(
            self._tick,
            IntervalTrigger(seconds=self.every_s, timezone=UTC),
            id=JOB_ID,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=None,
            replace_existing=True,
        )
        scheduler.start()
        self.scheduler = scheduler

    def stop(self) -> None:
        if self.scheduler is not None and self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        self.scheduler = None

    async def _tick(self) -> None:
        self.ticks += 1
        try:
            await self._wake()
        except Exception:
            log.exception("digest planning failed; the next tick tries again")
