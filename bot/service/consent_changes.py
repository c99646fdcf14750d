"""What follows a change of consent, whoever made it (teacher or family).

A child's consent becoming ``oui`` releases what waited for it; becoming
``non`` (or ``pas encore``) holds back at once what names the child (and,
for a child of the class, what names nobody): waiting recordings, their
deliveries not yet sent, their place in digests. The teacher is told which
recordings that holds back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from bot.service.context import Context
from storage.records import Recording


@dataclass
class ConsentEffect:
    released: list[Recording] = field(default_factory=list)
    held_back: list[Recording] = field(default_factory=list)


class ConsentChanges:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    async def after_change(self, class_id: int) -> ConsentEffect:
        """Apply the rule again to every recording of the class not withdrawn.
        The rule is asked first; what it decides is then written in one
        transaction (a unit of work), all of it or nothing."""
        self.ctx.audience.changed()
        repos, now = self.ctx.repos, self.ctx.clock.now()
        decided: list[tuple[Recording, str]] = []
        for rec in await repos.recordings.naming_in_class(
            class_id, ("waiting", "held", "published")
        ):
            allowed = rec.voice_sha is not None and await self.ctx.audience.may_go(rec)
            if rec.state == "held" and allowed:
                if not await repos.recordings.speakers_unclear(rec.id):
                    decided.append((rec, "release"))
            elif rec.state == "waiting" and not allowed:
                decided.append((rec, "hold"))
            elif rec.state == "published":
                decided.append((rec, "release_deliveries" if allowed else "hold_deliveries"))
        effect = ConsentEffect()
        woke = False
        publish_at = now + timedelta(seconds=self.ctx.settings.delivery.grace_seconds)
        async with repos.unit_of_work() as uow:
            for rec, action in decided:
                if action == "release":
                    if await uow.recordings.release_held(rec.id, publish_at):
                        effect.released.append(rec)
                        woke = True
                elif action == "hold":
                    if await uow.recordings.hold_for_consent(rec.id):
                        effect.held_back.append(rec)
                elif action == "release_deliveries":
                    woke = bool(await uow.deliveries.release_consent_hold(rec.id, now)) or woke
                else:
                    await uow.deliveries.hold_open_of_recording_for_consent(rec.id)
                    effect.held_back.append(rec)
        if woke:
            self.ctx.wake.publisher.set()
            self.ctx.wake.deliveries()
        return effect
