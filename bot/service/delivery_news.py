"""Deliveries due, told to every process on the database.

The process that makes deliveries due (a family's answer on its page, the
digest planner, a released recording) is not always the one running the
account that sends them. PostgreSQL's NOTIFY wakes the other processes'
workers at once instead of at their next look (bot/delivery/worker.py).
One process alone (SQLite) needs none of it.
"""

from __future__ import annotations

import asyncio
import logging

from bot.service.context import Context

log = logging.getLogger("petites_voix.delivery_news")

NEWS = "petites_voix_deliveries"


class DeliveryNews:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self._telling: set[asyncio.Task[None]] = set()

    def start(self) -> asyncio.Task[None] | None:
        """Tell the others from now on, and listen to them (until the
        returned task is cancelled); None with one process alone."""
        if self.ctx.repos.db.single_process:
            return None
        self.ctx.wake.tell_others = self._tell
        return asyncio.create_task(self.ctx.repos.db.watch(NEWS, self._heard), name="news")

    def _heard(self, _news: str) -> None:
        self.ctx.wake.deliveries_here()  # never told again: no echo between processes

    def _tell(self) -> None:
        task = asyncio.create_task(self._notify())
        self._telling.add(task)
        task.add_done_callback(self._telling.discard)

    async def _notify(self) -> None:
        try:
            await self.ctx.repos.db.notify(NEWS, "")
        except Exception as exc:  # the others look again within their worker's pause
            log.info("could not tell the other processes (%s)", type(exc).__name__)
