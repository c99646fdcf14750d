"""Keeping children's voices only as long as allowed.

Recordings (and their files, and the platforms' references to them) go at
the end of the school year, or after ``keep_days`` when the operator set it.
Guardians left without any subscription are erased (``bot.service.erasure``:
nothing of them stays), and the private chats an operator's erasure could
not leave are left. The end of the school year (``bot.service.year_end``):
the announcement two weeks ahead, the keepsakes and ``close-year`` on its
last day.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.aio import nap
from bot.config import RetentionSettings
from bot.leadership import DUTIES
from bot.service.context import Context
from bot.service.erasure import Erasure
from bot.service.thanks import Thanks
from bot.service.year_end import YearEnd

log = logging.getLogger("petites_voix.retention")

EVERY_S = 6 * 3600.0
# Chats an operator's erasure left behind are left within a minute.
LEAVE_EVERY_S = 60.0


def expiry_cutoff(now: datetime, rules: RetentionSettings, tz: ZoneInfo) -> datetime:
    """Recordings created before this instant are past their keeping time."""
    local = now.astimezone(tz)
    month, day = rules.school_year_end
    end = date(local.year, month, day)
    if end >= local.date():  # this year's end has not come yet: last year's
        end = date(local.year - 1, month, day)
    cutoff = datetime.combine(end + timedelta(days=1), datetime.min.time(), tzinfo=tz)
    if rules.keep_days:
        cutoff = max(cutoff, now - timedelta(days=rules.keep_days))
    return cutoff.astimezone(UTC)


class Retention:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.erasure = Erasure(ctx)
        self.year = YearEnd(ctx)
        self.thanks = Thanks(ctx)

    async def sweep(self) -> int:
        repos, now = self.ctx.repos, self.ctx.clock.now()
        cutoff = expiry_cutoff(
            now, self.ctx.settings.retention, self.ctx.settings.schedule.timezone
        )
        if await self.year.waiting():
            # The year is closing: its keepsakes need its recordings, close-year erases.
            log.info("retention: the year is closing; close-year deletes its recordings")
            shas: set[str] = set()
        else:
            shas = await repos.recordings.delete_created_before(cutoff)
            shas |= await repos.mixes.delete_created_before(cutoff)
        removed_files = await self.erasure.drop_files(shas)
        orphans = await self.erasure.orphans()
        await self.erasure.leave_pending()
        # ONDE addresses whose invitation ended unused.
        contacts = await repos.email_contacts.erase_expired(now)
        # Wrong invitation codes only matter for the rate limit (minutes).
        await repos.invitations.forget_attempts_before(now - timedelta(days=1))
        if shas or orphans or contacts:
            await repos.audit.record(
                "service",
                "retention",
                now,
                detail=f"{removed_files} file(s), {orphans} guardian(s), {contacts} address(es)",
            )
            log.info("retention: %d file(s) and %d guardian(s) erased", removed_files, orphans)
        return removed_files

    async def run(self, stopping: asyncio.Event) -> None:
        loop = asyncio.get_running_loop()
        next_sweep = loop.time()
        while not stopping.is_set():
            self.ctx.wake.notices.clear()  # set again meanwhile: one more round at once
            try:
                # The sweep and the year's steps: one process (DUTIES); each
                # platform's chats and notices: the process running its account.
                if DUTIES in self.ctx.held and loop.time() >= next_sweep:
                    next_sweep = loop.time() + EVERY_S
                    await self.sweep()
                else:
                    await self.erasure.leave_pending()
                # The end of the year: announced, then closed, on local dates.
                if DUTIES in self.ctx.held:
                    await self.year.tick()
                    # The morning line of parents' thanks, then every notice due.
                    await self.thanks.tick()
                await self.year.send_notices()
            except Exception:
                log.exception("retention sweep failed; trying again later")
            await nap(LEAVE_EVERY_S, stopping, self.ctx.wake.notices)
