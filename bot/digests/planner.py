"""Finds every digest due at an instant and writes it to the outbox.

Set-based: one INSERT ... SELECT for the daily period and one per distinct
weekly slot, whatever the number of guardians. Running it twice, or from two
timers at once, plans nothing more: the database refuses a second digest for
the same guardian and period.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from bot.digests.periods import latest_daily, latest_weekly
from bot.schedule_words import WeeklySlot
from bot.service.context import Context
from bot.service.quiet_hours import next_allowed
from storage.records import to_db_time

log = logging.getLogger("petites_voix.digests")

# Planned within this long after its slot, a digest is on time and goes at
# once; later (the service was down), it is a catch-up and respects quiet hours.
ON_TIME = timedelta(minutes=30)


class Planner:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    async def plan(self, now: datetime | None = None) -> int:
        """Plan what is due at ``now`` (default: the clock); returns how many
        digests were created."""
        now = self.ctx.clock.now() if now is None else now
        schedule = self.ctx.settings.schedule
        repos = self.ctx.repos

        def send_at(due: datetime) -> datetime:
            return now if now - due <= ON_TIME else next_allowed(now, schedule)

        daily = latest_daily(now, schedule.daily_digest, schedule.timezone)
        created = await repos.digests.plan_daily(
            daily.key, daily.due_at, send_at(daily.due_at), now
        )
        for slot in await repos.digests.weekly_slots():
            try:
                weekly = WeeklySlot.from_storage(slot)
            except ValueError:
                log.warning("a class has an unreadable weekly slot: %r", slot)
                continue
            period = latest_weekly(now, weekly, schedule.timezone)
            created += await repos.digests.plan_weekly(
                slot, period.key, period.due_at, send_at(period.due_at), now
            )
        if created:
            log.info("%d digest(s) planned at %s", created, to_db_time(now))
            self.ctx.wake.deliveries()
        return created

    async def resume(self, guardian_id: int, immediate: bool) -> int:
        """/reprendre: what piled up during the pause comes as one digest
        (``immediate``: now, or when quiet hours end), or joins the next
        scheduled one. Returns how many recordings it holds."""
        now = self.ctx.clock.now()
        key = f"reprise:{to_db_time(now)}" if immediate else None
        count = await self.ctx.repos.digests.resume(
            guardian_id, key, next_allowed(now, self.ctx.settings.schedule), now
        )
        # Also a digest the pause stopped half-way: it goes on from there.
        self.ctx.wake.deliveries()
        return count
