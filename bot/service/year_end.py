"""The end of the school year: announced to each family two weeks ahead,
then each family's keepsake (its child's year, one recording per album),
then the year's class data erased, schools and teachers kept.

The announcement and the keepsakes are digests (``storage.repos.year_end``):
the delivery workers send them with their retries and failure policy, once.
The erasure waits until no keepsake of the year is still open.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date
from typing import Any

from bot.i18n import SOURCE, speaking
from bot.ports import OutboundMessage
from bot.service import texts
from bot.service.context import Context
from bot.service.erasure import Erasure
from bot.service.quiet_hours import next_allowed
from bot.typography import typeset

log = logging.getLogger("petites_voix.year_end")

ANNOUNCE_DAYS = 14
# The service was down on the last day: it still closes the year this long after.
CATCH_UP_DAYS = 7
OPEN_STATES = ("planned", "sending")

SEPTEMBER = (
    "L'année scolaire est terminée : les enregistrements, les enfants, les "
    "consentements et les familles de la classe {klass} ont été effacés, et le "
    "groupe de la classe n'est plus relié.\n"
    "Votre école et votre compte restent. En septembre :\n"
    "1. dans le nouveau groupe de la classe, envoyez /classe ;\n"
    "2. recueillez les formulaires de consentement des familles ;\n"
    "3. créez les nouvelles invitations (/invitation Prénom, ou les fiches "
    "imprimées que prépare l'exploitant)."
)


def last_day(year: int, rules: tuple[int, int]) -> date:
    month, day = rules
    return date(year, month, day)


def french_day(day: date) -> str:
    """For teachers and operators, who read French."""
    with speaking(SOURCE):
        return texts.full_day(day)


@dataclass(frozen=True)
class YearEndPlan:
    year: int
    last_day: date


class YearEnd:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.repos = ctx.repos

    def today(self) -> date:
        return self.ctx.clock.now().astimezone(self.ctx.settings.schedule.timezone).date()

    def upcoming(self) -> YearEndPlan:
        """The school year whose last day is today or ahead."""
        today, rules = self.today(), self.ctx.settings.retention.school_year_end
        end = last_day(today.year, rules)
        if end < today:
            end = last_day(today.year + 1, rules)
        return YearEndPlan(end.year, end)

    async def to_close(self) -> YearEndPlan | None:
        """The year the service must close now: its last day has come (at
        most a week ago) and it is not closed yet."""
        today, rules = self.today(), self.ctx.settings.retention.school_year_end
        end = last_day(today.year, rules)
        if end > today:
            end = last_day(today.year - 1, rules)
        if (today - end).days > CATCH_UP_DAYS or await self.repos.year_end.is_closed(end.year):
            return None
        return YearEndPlan(end.year, end)

    async def tick(self) -> None:
        """Called every minute by the retention loop: announce in the last two
        weeks, close on the last day."""
        closing = await self.to_close()
        if closing is not None:
            await self.close(closing, dry_run=False)
            return
        coming = self.upcoming()
        if 0 < (coming.last_day - self.today()).days <= ANNOUNCE_DAYS:
            await self.announce(coming)

    async def announce(self, plan: YearEndPlan) -> int:
        now = self.ctx.clock.now()
        created = await self.repos.year_end.plan_announcements(
            plan.year, next_allowed(now, self.ctx.settings.schedule), now
        )
        if created:
            log.info("end of year announced to %d famil(y/ies)", created)
            self.ctx.wake.deliveries()
        return created

    async def keepsake_plan(self) -> YearEndPlan | None:
        """The year whose keepsakes a family may download from its page now:
        from the announcement (two weeks ahead) until the year is closed."""
        closing = await self.to_close()
        if closing is not None:
            return closing
        coming = self.upcoming()
        return coming if (coming.last_day - self.today()).days <= ANNOUNCE_DAYS else None

    async def waiting(self) -> bool:
        """The year's last day has come and the year is not closed: its
        recordings stay for the keepsakes until :meth:`close` erases them."""
        return await self.to_close() is not None

    async def close(self, plan: YearEndPlan | None = None, *, dry_run: bool) -> dict[str, Any]:
        """Plan the keepsakes not planned yet; once none is open, erase."""
        plan = plan or await self.to_close() or self.upcoming()
        repos, now = self.repos, self.ctx.clock.now()
        report: dict[str, Any] = {
            "year": plan.year,
            "last_day": plan.last_day.isoformat(),
            "dry_run": dry_run,
        }
        if await repos.year_end.is_closed(plan.year):
            report.update(state="already_closed", keepsakes={}, erased={}, teachers_told=0)
            return report
        if dry_run:
            planned = await repos.year_end.keepsakes_to_plan(plan.year)
        else:
            planned = await repos.year_end.plan_keepsakes(
                plan.year, next_allowed(now, self.ctx.settings.schedule), now
            )
            if planned:
                self.ctx.wake.deliveries()
        states = await repos.year_end.keepsake_states(plan.year)
        open_now = sum(states.get(s, 0) for s in OPEN_STATES)
        report["keepsakes"] = {
            "planned_now": planned,
            "sent": states.get("sent", 0),
            "empty": states.get("empty", 0),
            "failed": states.get("failed", 0) + states.get("cancelled", 0),
            "open": open_now + (planned if dry_run else 0),
        }
        report["erased"] = await repos.year_end.counts()
        teachers = await self._teachers()
        report["teachers_told"] = len(teachers)
        if dry_run:
            report["state"] = "dry_run"
            return report
        if open_now:
            report["state"] = "waiting_for_keepsakes"
            return report
        files = await self._erase()
        report["erased"]["files"] = files
        for platform, chat_id, klass in teachers:
            await repos.year_end.add_notice(
                platform, chat_id, SEPTEMBER.format(klass=f"« {klass} »"), now
            )
        await repos.audit.record("service", "close-year", now, detail=str(plan.year))
        log.info("school year %d closed", plan.year)
        report["state"] = "closed"
        return report

    async def _teachers(self) -> list[tuple[str, str, str]]:
        """(platform, private chat, class name) of every teacher of a class."""
        out = []
        for klass in await self.repos.schools.all_classes():
            for teacher in await self.repos.staff.teachers_of_class(klass.id):
                out.append((teacher.platform, teacher.chat_id, klass.name))
        return out

    async def _erase(self) -> int:
        repos, erasure = self.repos, Erasure(self.ctx)
        shas: set[str] = set()
        for klass in await repos.schools.all_classes():
            for child in await repos.families.children_of_class(klass.id):
                await erasure.child(child.id)
            shas |= await repos.year_end.erase_class_content(klass.id)
        shas |= await repos.year_end.drop_mixes()
        files = await erasure.drop_files(shas)
        await erasure.orphans()
        return files

    async def send_notices(self) -> int:
        """Send the teachers' notices an operator command left (in French)."""
        sent = 0
        for platform, adapter in self.ctx.own_adapters().items():
            for notice in await self.repos.year_end.notices(platform):
                try:
                    await adapter.send(
                        OutboundMessage(
                            chat_id=notice.chat_id,
                            text=typeset(notice.text, "fr"),  # teachers read French
                            idempotency_key=f"pv-notice-{notice.id}",
                        )
                    )
                except Exception as exc:
                    log.warning("a teacher notice failed: %s", type(exc).__name__)
                    if notice.attempts >= 20:
                        await self.repos.year_end.notice_sent(notice.id)  # given up
                    else:
                        await self.repos.year_end.notice_failed(notice.id)
                    continue
                await self.repos.year_end.notice_sent(notice.id)
                sent += 1
        return sent
