"""A parent's « Merci ! », counted for the teachers.

Each thank-you is kept until the next morning line: at ``LINE_AT`` (local
time, the school's time zone), before class, each teacher of a class thanked
since the last line gets one line, « 3 familles vous remercient », counting
families (not messages, not guardians) and naming nobody. No thanks: no line.
The line goes through the teacher notices, so it survives a restart and is
written once a day whatever the number of processes.
"""

from __future__ import annotations

from datetime import datetime, time

from bot.service.context import Context
from storage.records import Guardian

# Before school starts, after the default quiet hours (07:30).
LINE_AT = time(8, 0)


def thanks_line(class_name: str, families: int) -> str:
    """« MS-GS : 3 familles vous remercient. » (teachers read French)."""
    if families == 1:
        return f"{class_name} : 1 famille vous remercie."
    return f"{class_name} : {families} familles vous remercient."


class Thanks:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    async def record(self, guardian: Guardian) -> None:
        """Counted once for each class of the family's children; the family
        is known by its first child there (two guardians of Lina: one family)."""
        subs = await self.ctx.repos.families.subscriptions_of_guardian(guardian.id)
        family_of: dict[int, int] = {}
        for sub in subs:
            family_of[sub.class_id] = min(family_of.get(sub.class_id, sub.child_id), sub.child_id)
        now = self.ctx.clock.now()
        for class_id, child_id in family_of.items():
            await self.ctx.repos.thanks.add(class_id, child_id, now)

    def _day(self, now: datetime) -> str | None:
        """Today's local date once the line's hour has passed, else None."""
        local = now.astimezone(self.ctx.settings.schedule.timezone)
        return local.date().isoformat() if local.time() >= LINE_AT else None

    async def due(self) -> bool:
        """Today's line is not written yet and its hour has come."""
        day = self._day(self.ctx.clock.now())
        return day is not None and not await self.ctx.repos.thanks.day_done(day)

    async def tick(self) -> int:
        """Write today's lines if their hour has come; the notices written."""
        now = self.ctx.clock.now()
        day = self._day(now)
        if day is None or await self.ctx.repos.thanks.day_done(day):
            return 0
        return await self.ctx.repos.thanks.write_day(day, now, thanks_line) or 0
