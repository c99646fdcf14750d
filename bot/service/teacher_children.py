"""The teacher's commands about the children: consent, the register, names,
a child who leaves."""

from __future__ import annotations

from bot.children import child_key, find_by_name, tidy_child_name
from bot.commands import Command
from bot.consent import Consent
from bot.ports import TextMessage
from bot.service import texts
from bot.service.audience import consent_word
from bot.service.consent_changes import ConsentChanges, ConsentEffect
from bot.service.context import Context
from bot.service.erasure import Erasure
from bot.text_norm import fold
from storage.records import Child, Class

# How many held-back recordings an answer names before it only counts.
MAX_LISTED = 8


class ChildrenCommands:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.changes = ConsentChanges(ctx)

    def _p(self, platform: str) -> str:
        return self.ctx.adapters[platform].capabilities.command_prefixes[0]

    async def _answer(self, platform: str, msg: TextMessage, text: str) -> None:
        await self.ctx.say(platform, msg.chat.chat_id, text, reply_to=msg.message_id)

    async def _child(
        self, platform: str, msg: TextMessage, klass: Class, name: str, *, create: bool
    ) -> tuple[Child | None, bool]:
        """The child a name means; answers the teacher when it is ambiguous
        or unknown (unless ``create``). Second value: created now."""
        children = await self.ctx.repos.families.children_of_class(klass.id)
        match = find_by_name(name, children)
        if match.ambiguous:
            await self._answer(platform, msg, _which_one(name, match.candidates, self._p(platform)))
            return None, False
        if match.child is not None:
            return match.child, False
        if not create:
            await self._answer(platform, msg, _unknown(name, children))
            return None, False
        child, created = await self.ctx.repos.families.ensure_child(
            klass.id, tidy_child_name(name), child_key(name), self.ctx.clock.now()
        )
        return child, created

    # -- /consentement ------------------------------------------------------

    async def consent(
        self, platform: str, msg: TextMessage, command: Command, klass: Class
    ) -> None:
        argv = command.argv
        answer = fold(argv[-1]) if argv else ""
        p = self._p(platform)
        if len(argv) < 2 or answer not in ("oui", "non"):
            await self._answer(
                platform,
                msg,
                f"Écrivez : {p}consentement Prénom oui (ou non), ou {p}consentement tous oui "
                "pour tous les enfants de la classe dont vous avez le papier signé.",
            )
            return
        agreed = answer == "oui"
        name = " ".join(argv[:-1])
        now = self.ctx.clock.now()
        actor = f"{platform}:{msg.sender.user_id}"
        if fold(name) == "tous":
            children = await self.ctx.repos.families.children_of_class(klass.id)
            if not children:
                await self._answer(
                    platform, msg, f"Aucun enfant dans la classe pour l'instant ({p}enfants)."
                )
                return
            for child in children:
                await self.ctx.repos.families.set_consent(child.id, agreed, now)
            await self.ctx.repos.audit.record(
                actor, "consent_all", now, class_id=klass.id, detail=answer
            )
            effect = await self.changes.after_change(klass.id)
            text = (
                f"C'est noté pour les {texts.plural(len(children), 'enfant')} de la classe : "
                f"accord « {answer} » de l'école. Une réponse des familles passe avant."
            )
            await self._answer(platform, msg, text + _effect_words(effect, p))
            return
        found, created = await self._child(platform, msg, klass, name, create=True)
        if found is None:
            return
        child = found
        await self.ctx.repos.families.set_consent(child.id, agreed, now)
        await self.ctx.repos.audit.record(
            actor, "consent", now, class_id=klass.id, detail=f"child:{child.id}={answer}"
        )
        effect = await self.changes.after_change(klass.id)
        consents = await self.ctx.audience.class_consents(klass.id)
        state = consents[child.id]
        if agreed:
            text = f"C'est noté : {child.first_name} peut être enregistré(e) et entendu(e)."
        else:
            text = (
                f"C'est noté : plus rien où {child.first_name} parle ne partira, ni les "
                "enregistrements de toute la classe."
            )
        if state.set_by is not None and state.set_by.value == "famille":
            text += (
                f"\nAttention : la famille de {child.first_name} a répondu elle-même "
                f"« {state.state.value} », et sa réponse passe avant la vôtre."
            )
        if created:
            text += "\n" + texts.new_names([child.first_name])
        await self._answer(platform, msg, text + _effect_words(effect, p))

    # -- /enfants ----------------------------------------------------------

    async def register(
        self, platform: str, msg: TextMessage, command: Command, klass: Class
    ) -> None:
        children = await self.ctx.repos.families.children_of_class(klass.id)
        p = self._p(platform)
        if not children:
            await self._answer(
                platform,
                msg,
                f"Aucun enfant dans la classe pour l'instant : {p}invitation Prénom, ou "
                "l'import ONDE par l'école.",
            )
            return
        consents = await self.ctx.audience.class_consents(klass.id)
        lines = [f"Enfants de la classe « {klass.name} » ({len(children)}) :"]
        agreed = 0
        for child in children:
            consent = consents[child.id]
            agreed += consent.state is Consent.OUI
            families = len(await self.ctx.repos.families.guardians_of_child(child.id))
            inscrits = texts.plural(families, "parent inscrit", "parents inscrits")
            lines.append(f"• {child.first_name} : accord {consent_word(consent)}, {inscrits}")
        lines.append(
            f"Accord donné pour {agreed} sur {len(children)}. Les enregistrements sans "
            "#Prénom partent quand tous les enfants ont l'accord."
        )
        await self.ctx.say(platform, msg.chat.chat_id, "\n".join(lines))

    # -- /renommer ---------------------------------------------------------

    async def rename(self, platform: str, msg: TextMessage, command: Command, klass: Class) -> None:
        words = command.argv
        p = self._p(platform)
        children = await self.ctx.repos.families.children_of_class(klass.id)
        # "Léa Léa B.": the old name is the longest start that names a child.
        for cut in range(len(words) - 1, 0, -1):
            old, new = " ".join(words[:cut]), tidy_child_name(" ".join(words[cut:]))
            match = find_by_name(old, children)
            if match.child is None:
                continue
            if not await self.ctx.repos.families.rename_child(match.child.id, new, child_key(new)):
                await self._answer(
                    platform,
                    msg,
                    f"Il y a déjà un(e) « {new} » dans la classe. Pour les distinguer, ajoutez "
                    f"l'initiale du nom : {p}renommer {new} {new} B.",
                )
                return
            await self.ctx.repos.audit.record(
                f"{platform}:{msg.sender.user_id}",
                "child_renamed",
                self.ctx.clock.now(),
                class_id=klass.id,
                detail=f"child:{match.child.id}",
            )
            await self._answer(
                platform,
                msg,
                f"C'est noté : {match.child.first_name} s'appelle maintenant « {new} » "
                f"(étiquette #{new.replace(' ', '_').rstrip('.')}).",
            )
            return
        await self._answer(
            platform,
            msg,
            f"Écrivez : {p}renommer AncienPrénom NouveauPrénom (par exemple "
            f"{p}renommer Lea Léa B.)." + ("\n" + _unknown(words[0], children) if words else ""),
        )

    # -- /depart -----------------------------------------------------------

    async def departure(
        self, platform: str, msg: TextMessage, command: Command, klass: Class
    ) -> None:
        p = self._p(platform)
        if not command.args.strip():
            await self._answer(platform, msg, f"Écrivez : {p}depart Prénom")
            return
        child, _ = await self._child(platform, msg, klass, command.args, create=False)
        if child is None:
            return
        now = self.ctx.clock.now()
        await self.ctx.repos.invitations.revoke_for_child(child.id, now)
        families = len(await self.ctx.repos.families.guardians_of_child(child.id))
        await Erasure(self.ctx).child(child.id)
        await self.ctx.repos.audit.record(
            f"{platform}:{msg.sender.user_id}", "child_left", now, class_id=klass.id
        )
        await self.changes.after_change(klass.id)
        await self._answer(
            platform,
            msg,
            f"C'est fait : {child.first_name} ne fait plus partie de la classe. Ses invitations "
            f"ne servent plus, l'inscription de sa famille ({texts.plural(families, 'parent')}) "
            "est terminée, son prénom et son accord sont effacés. Les enregistrements où "
            f"{child.first_name} est nommé(e) ne partent plus ; ceux pour sa famille seulement "
            "sont effacés.",
        )


def _which_one(name: str, candidates: tuple[Child, ...], p: str) -> str:
    names = " ou ".join(f"« {c.first_name} »" for c in candidates)
    return (
        f"Il y a plusieurs « {name} » dans la classe : {names}. Écrivez le prénom avec l'initiale."
    )


def _unknown(name: str, children: list[Child]) -> str:
    known = ", ".join(c.first_name for c in children) or "aucun pour l'instant"
    return f"Je ne trouve pas « {name} » dans la classe. Enfants de la classe : {known}."


def _effect_words(effect: ConsentEffect, p: str) -> str:
    parts = []
    if effect.released:
        parts.append(
            "\n"
            + texts.plural(
                len(effect.released),
                "enregistrement en attente repart",
                "enregistrements en attente repartent",
            )
            + "."
        )
    if effect.held_back:
        labels = [texts.recording_label(r.title, r.position) for r in effect.held_back]
        shown = ", ".join(labels[:MAX_LISTED])
        more = f" et {len(labels) - MAX_LISTED} autres" if len(labels) > MAX_LISTED else ""
        parts.append(
            f"\nCela retient {texts.plural(len(labels), 'enregistrement')} : {shown}{more}. "
            "Ils ne partent plus et disparaissent des pages des familles. Ceux déjà arrivés "
            f"chez les familles : répondez-leur {p}retirer pour les leur retirer."
        )
    return "".join(parts)
