"""A family's own consent for its child: asked once after subscribing, with
the school's text, and changed at any time with /consentement oui|non."""

from __future__ import annotations

from bot.children import find_by_name
from bot.i18n import _, speaking
from bot.ports import Choice
from bot.service import texts
from bot.service.consent_changes import ConsentChanges
from bot.service.context import Context
from bot.text_norm import fold
from storage.records import Child, Guardian


class FamilyConsent:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.changes = ConsentChanges(ctx)

    def _p(self, platform: str) -> str:
        return self.ctx.adapters[platform].capabilities.command_prefixes[0]

    async def ask_once(self, platform: str, chat: str, guardian: Guardian, child: Child) -> None:
        """After subscribing: the school's text and the question, once."""
        if not await self.ctx.repos.families.mark_consent_asked(
            guardian.id, child.id, self.ctx.clock.now()
        ):
            return
        p = self._p(platform)
        several = len(await self.ctx.repos.families.subscribed_children(guardian.id)) > 1
        target = f"{child.first_name} " if several else ""
        # The school's own text ([privacy] consent_text), as it wrote it.
        school_text = self.ctx.settings.privacy.consent_text or texts.default_consent_text()
        await self.ctx.say(
            platform,
            chat,
            texts.consent_question(school_text, child.first_name, p, target),
            choices=(
                Choice(_("Oui, j'accepte"), f"/consentement {target}oui"),
                Choice(_("Non"), f"/consentement {target}non"),
            ),
        )

    async def answer(self, platform: str, chat: str, guardian: Guardian, args: str) -> None:
        words = args.split()
        p = self._p(platform)
        children = await self.ctx.repos.families.subscribed_children(guardian.id)
        answer = fold(words[-1]) if words else ""
        if answer not in ("oui", "non") or not children:
            await self.ctx.say(platform, chat, await self._state(children, p))
            return
        name = " ".join(words[:-1])
        if name:
            match = find_by_name(name, children)
            chosen = [match.child] if match.child else []
        else:
            chosen = children if len(children) == 1 else []
        if not chosen:
            names = _(" ou ").join(c.first_name for c in children)
            await self.ctx.say(
                platform,
                chat,
                _(
                    "Pour quel enfant ? Écrivez par exemple : {p}consentement {name} {answer} "
                    "({names})."
                ).format(p=p, name=children[0].first_name, answer=answer, names=names),
            )
            return
        child = chosen[0]
        now = self.ctx.clock.now()
        await self.ctx.repos.families.set_family_consent(
            guardian.id, child.id, answer == "oui", now
        )
        await self.ctx.repos.audit.record(
            "parent", "family_consent", now, class_id=child.class_id, detail=answer
        )
        effect = await self.changes.after_change(child.class_id)
        consents = await self.ctx.audience.class_consents(child.class_id)
        state = consents[child.id].state.value
        if answer == "oui":
            text = _(
                "Merci, c'est noté : vous acceptez que la voix de {name} soit enregistrée et "
                "entendue par les familles de la classe."
            ).format(name=child.first_name)
        else:
            text = _(
                "C'est noté : plus aucun enregistrement où {name} parle ne sera envoyé ni "
                "montré aux familles."
            ).format(name=child.first_name)
        if state != answer:
            text += "\n" + _(
                "(Un autre parent de {name} a répondu « {state} » : c'est la réponse « non » "
                "qui compte tant qu'il y en a une.)"
            ).format(name=child.first_name, state=texts.consent_state(state))
        text += "\n" + _(
            "Vous pouvez changer d'avis à tout moment : {p}consentement oui ou non."
        ).format(p=p)
        await self.ctx.say(platform, chat, text)
        if answer == "non":
            with speaking("fr"):  # the teacher reads French
                await self.tell_teachers(child, len(effect.held_back))

    async def _state(self, children: list[Child], p: str) -> str:
        if not children:
            return _("Vous n'êtes inscrit(e) pour aucun enfant.")
        lines = [self.ctx.settings.privacy.consent_text or texts.default_consent_text(), ""]
        for child in children:
            consents = await self.ctx.audience.class_consents(child.class_id)
            lines.append(
                _("{name} : accord {state}.").format(
                    name=child.first_name, state=texts.consent_state(consents[child.id].state.value)
                )
            )
        lines.append(_("Pour répondre : {p}consentement oui, ou {p}consentement non.").format(p=p))
        return "\n".join(lines)

    async def tell_teachers(self, child: Child, held: int) -> None:
        """The teacher learns in the class group what the family's answer holds back."""
        for channel in await self.ctx.repos.staff.channels_of_class(child.class_id):
            p = self._p(channel.platform) if channel.platform in self.ctx.adapters else "/"
            text = (
                f"La famille de {child.first_name} ne donne pas son accord pour sa voix : "
                f"rien où {child.first_name} parle ne partira, ni les enregistrements de "
                f"toute la classe. {p}enfants pour voir les accords."
            )
            if held:
                text += (
                    f"\nCela retient {texts.plural(held, 'enregistrement')} déjà "
                    f"{'publié' if held < 2 else 'publiés'} ou "
                    f"en attente ; répondez {p}retirer à un enregistrement pour le retirer des "
                    "conversations où il est déjà arrivé."
                )
            await self.ctx.say(channel.platform, channel.chat_id, text)
