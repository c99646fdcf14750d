"""When a recording's undo window ends, it is published: its deliveries are
written to the outbox in one transaction."""

from __future__ import annotations

import asyncio
import logging

from bot.aio import nap
from bot.service import texts
from bot.service.context import Context
from bot.service.quiet_hours import next_allowed
from bot.service.who_speaks import blocking_names
from storage.records import Recording

log = logging.getLogger("petites_voix.publisher")

MAX_IDLE_S = 30.0


class Publisher:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    async def publish_due(self) -> int:
        """Publish every recording whose window has ended; returns how many."""
        repos, now = self.ctx.repos, self.ctx.clock.now()
        published = 0
        for rec in await repos.recordings.due_for_publishing(now):
            if rec.platform in self.ctx.elsewhere:
                continue  # the process running that account publishes it
            if not await self.ctx.audience.may_go(rec):
                if await repos.recordings.hold_for_consent(rec.id):
                    await self._tell_held(rec)
                continue
            outcome = await repos.deliveries.publish(
                rec.id, now, next_allowed(now, self.ctx.settings.schedule)
            )
            if outcome.published:
                published += 1
                log.info("recording %d published to %d guardians", rec.id, outcome.deliveries)
            elif outcome.held_for_consent:
                await self._tell_held(rec)
        if published:
            self.ctx.wake.deliveries()
        return published

    async def _tell_held(self, rec: Recording) -> None:
        names = await blocking_names(self.ctx, rec)
        await self.ctx.say(
            rec.platform,
            rec.source_chat_id,
            f"{texts.recording_label(rec.title, rec.position)} reste en attente : "
            + texts.missing_consent(names),
            reply_to=rec.source_message_id,
        )

    async def run(self, stopping: asyncio.Event) -> None:
        while not stopping.is_set():
            try:
                await self.publish_due()
            except Exception:
                log.exception("publishing failed; trying again shortly")
            next_at = await self.ctx.repos.recordings.next_publish_time()
            delay = MAX_IDLE_S
            if next_at is not None:
                delay = min(delay, max(0.05, (next_at - self.ctx.clock.now()).total_seconds()))
            self.ctx.wake.publisher.clear()
            await nap(delay, stopping, self.ctx.wake.publisher)
