"""Daily and weekly digests: planned from wall-clock periods, sent through the
outbox by the delivery workers."""

from __future__ import annotations

import logging

from bot.digests.alarm import Alarm
from bot.digests.planner import Planner
from bot.service.context import Context

log = logging.getLogger("petites_voix.digests")


class Digests:
    """The planner and its alarm clock, started and stopped with the service."""

    def __init__(self, ctx: Context, every_s: float = 60.0) -> None:
        self.planner = Planner(ctx)
        self.alarm = Alarm(self.planner.plan, every_s)

    async def catch_up(self) -> None:
        """A digest that fell due while the service was down goes now."""
        try:
            caught_up = await self.planner.plan()
        except Exception:
            log.exception("digest catch-up failed; the alarm tries again")
            caught_up = 0
        if caught_up:
            log.info("%d digest(s) fell due while stopped", caught_up)

    def start(self) -> None:
        """Wake the planner every minute (in one process: bot/leadership.py)."""
        if self.alarm.scheduler is None:
            self.alarm.start()

    def stop(self) -> None:
        self.alarm.stop()
