"""A family's settings as its page changes them: for every guardian of the
child at once (the page is the family's, not one parent's).

Thin on purpose: the page's consent answer is one more family answer beside
the guardians' own; the rule (bot/consent.py) and what follows a change
(bot/service/consent_changes.py) stay where they are.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.digests.planner import Planner
from bot.service.audience import consent_word
from bot.service.consent_changes import ConsentChanges
from bot.service.context import Context
from bot.service.family_consent import FamilyConsent

FREQUENCIES = ("immediat", "quotidien", "hebdomadaire")


@dataclass(frozen=True)
class FamilyView:
    child_id: int
    first_name: str
    class_id: int
    has_messenger: bool  # at least one guardian subscribed on a chat platform
    frequency: str | None
    paused: bool
    consent: str  # the rule's answer now: "oui (famille)", "pas encore"...
    page_answer: bool | None  # what was answered on the page, if anything


class FamilySettings:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.planner = Planner(ctx)

    async def view(self, child_id: int) -> FamilyView | None:
        repos = self.ctx.repos
        child = await repos.families.get_child(child_id)
        if child is None:
            return None
        subs = await repos.families.subscriptions_of_child(child_id)
        consents = await self.ctx.audience.class_consents(child.class_id)
        return FamilyView(
            child_id=child.id,
            first_name=child.first_name,
            class_id=child.class_id,
            has_messenger=bool(subs),
            frequency=subs[0].frequency if subs else None,
            paused=bool(subs) and all(s.paused for s in subs),
            consent=consent_word(consents[child.id]) if child.id in consents else "pas encore",
            page_answer=await repos.pages.consent_of(child_id),
        )

    async def set_frequency(self, child_id: int, frequency: str) -> None:
        if frequency not in FREQUENCIES:
            raise ValueError(frequency)
        await self.ctx.repos.families.set_frequency_of_child(child_id, frequency)

    async def set_paused(self, child_id: int, paused: bool) -> None:
        repos = self.ctx.repos
        await repos.families.set_paused_of_child(child_id, paused)
        for sub in await repos.families.subscriptions_of_child(child_id):
            if paused:
                await repos.digests.hold_for_pause(sub.guardian_id)
            else:
                others = await repos.families.subscriptions_of_guardian(sub.guardian_id)
                immediate = all(s.frequency == "immediat" for s in others)
                await self.planner.resume(sub.guardian_id, immediate)

    async def set_language(self, child_id: int, language: str) -> None:
        """The page's chooser: the page and every guardian of the child (the
        same store as /langue), so chat, e-mails and the page agree."""
        repos = self.ctx.repos
        await repos.pages.set_language(child_id, language)
        for guardian_id in await repos.families.guardians_of_child(child_id):
            await repos.families.set_language(guardian_id, language)

    async def set_consent(self, child_id: int, answer: bool) -> None:
        """The family's own answer for its child, from its page."""
        repos, now = self.ctx.repos, self.ctx.clock.now()
        child = await repos.families.get_child(child_id)
        if child is None or not await repos.pages.set_consent(child_id, answer, now):
            return
        await repos.audit.record(
            "family_page", "family_consent", now, class_id=child.class_id,
            detail="oui" if answer else "non",
        )  # fmt: skip
        effect = await ConsentChanges(self.ctx).after_change(child.class_id)
        if effect.held_back:
            await FamilyConsent(self.ctx).tell_teachers(child, len(effect.held_back))

    async def leave(self, child_id: int) -> None:
        """The family leaves: its page, its listens, its guardians'
        subscriptions for this child, and guardians left with nothing."""
        repos, now = self.ctx.repos, self.ctx.clock.now()
        child = await repos.families.get_child(child_id)
        for sub in await repos.families.subscriptions_of_child(child_id):
            others = await repos.families.subscriptions_of_guardian(sub.guardian_id)
            if all(s.child_id == child_id for s in others):
                await repos.families.erase_guardian(sub.guardian_id)
            else:
                await repos.families.unsubscribe(sub.guardian_id, child_id)
        await repos.pages.delete(child_id)
        self.ctx.audience.changed()
        await repos.listens.forget_child(child_id)
        await repos.audit.record(
            "family_page",
            "family_left",
            now,
            class_id=child.class_id if child else None,
        )
