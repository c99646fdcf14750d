"""Commands a parent types in a direct chat with the bot."""

from __future__ import annotations

from dataclasses import replace

from bot.commands import Command
from bot.digests.planner import Planner
from bot.i18n import _, ngettext
from bot.ports import Choice, TextMessage
from bot.schedule_words import WeeklySlot
from bot.service import texts
from bot.service.context import Context
from bot.service.erasure import Erasure
from bot.service.family_consent import FamilyConsent
from bot.service.family_pages import FamilyPages
from bot.service.languages import Languages
from bot.service.listening import Listening
from bot.service.teacher import album_list
from bot.text_norm import fold, of
from storage.records import Guardian

FREQUENCIES = {
    "immediat": "immediat",
    "immediatement": "immediat",
    "quotidien": "quotidien",
    "quotidienne": "quotidien",
    "jour": "quotidien",
    "hebdomadaire": "hebdomadaire",
    "hebdo": "hebdomadaire",
    "semaine": "hebdomadaire",
}


class ParentCommands:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.listening = Listening(ctx)
        self.planner = Planner(ctx)
        self.consent = FamilyConsent(ctx)
        self.languages = Languages(ctx)
        self.pages = FamilyPages(ctx)

    async def _schedule_words(self, guardian: Guardian, frequency: str) -> str:
        """When the digests of that frequency go out, in words."""
        schedule = self.ctx.settings.schedule
        if frequency == "quotidien":
            return _(" (à {clock})").format(clock=texts.clock(schedule.daily_digest))
        if frequency != "hebdomadaire":
            return ""
        slots = []
        for sub in await self.ctx.repos.families.subscriptions_of_guardian(guardian.id):
            klass = await self.ctx.repos.schools.get_class(sub.class_id)
            if klass is not None:
                slot = WeeklySlot.from_storage(klass.weekly_digest)
                slots.append(texts.weekday_and_clock(slot.weekday, slot.at))
        joined = _(" et le ").join(dict.fromkeys(slots))
        return _(" (le {slots})").format(slots=joined) if slots else ""

    async def handle(
        self, platform: str, msg: TextMessage, command: Command, guardian: Guardian
    ) -> None:
        chat = msg.chat.chat_id
        p = self.ctx.adapters[platform].capabilities.command_prefixes[0]
        repos = self.ctx.repos
        if msg.chat.is_direct and chat != guardian.chat_id:
            # A new direct chat (the old room stopped being private): from now on
            # this is where the family is reached.
            await repos.families.move_guardian_chat(guardian.id, chat)
            guardian = replace(guardian, chat_id=chat)
        match command.name:
            case "frequence":
                wanted = FREQUENCIES.get(fold(command.args))
                if wanted is None:
                    await self.ctx.say(
                        platform,
                        chat,
                        _(
                            "Quand voulez-vous recevoir les enregistrements ?\n"
                            "{p}frequence immediat : dès qu'ils sont publiés (jamais la nuit)\n"
                            "{p}frequence quotidien : un résumé chaque soir\n"
                            "{p}frequence hebdomadaire : un résumé chaque semaine"
                        ).format(p=p),
                        choices=(
                            Choice(_("Dès que publiés"), "/frequence immediat"),
                            Choice(_("Chaque jour"), "/frequence quotidien"),
                            Choice(_("Chaque semaine"), "/frequence hebdomadaire"),
                        ),
                    )
                    return
                await repos.families.set_frequency(guardian.id, wanted)
                when = await self._schedule_words(guardian, wanted)
                await self.ctx.say(
                    platform,
                    chat,
                    _("C'est noté : vous recevrez les enregistrements {how}{when}.").format(
                        how=texts.frequency_words(wanted), when=when
                    ),
                )
            case "pause":
                await repos.families.set_paused(guardian.id, True)
                await repos.digests.hold_for_pause(guardian.id)
                await self.ctx.say(
                    platform,
                    chat,
                    _(
                        "En pause : je ne vous envoie plus rien. {p}reprendre pour recevoir à "
                        "nouveau (ce qui a été publié entre-temps vous attendra)."
                    ).format(p=p),
                )
            case "reprendre":
                await repos.families.set_paused(guardian.id, False)
                await repos.families.lift_suspension(guardian.id)
                subs = await repos.families.subscriptions_of_guardian(guardian.id)
                immediate = all(s.frequency == "immediat" for s in subs)
                waiting = await self.planner.resume(guardian.id, immediate)
                await self.ctx.say(
                    platform, chat, _("C'est reparti !") + _resumed(waiting, immediate)
                )
            case "albums":
                subs = await repos.families.subscriptions_of_guardian(guardian.id)
                classes = list(dict.fromkeys(s.class_id for s in subs))
                parts = [await album_list(self.ctx, c, platform) for c in classes]
                parts.append(_("Pour écouter un album en entier : {p}ecouter NUMÉRO").format(p=p))
                await self.ctx.say(platform, chat, "\n\n".join(parts))
            case "consentement":
                await self.consent.answer(platform, chat, guardian, command.args)
            case "langue":
                await self.languages.choose(platform, chat, guardian, command.args)
            case "ecouter":
                await self.listening.listen(platform, chat, guardian, command.args)
            case "page":
                await self.ctx.say(platform, chat, await self._page_links(guardian))
            case "arreter":
                if fold(command.args) != "oui":
                    await self.ctx.say(
                        platform,
                        chat,
                        _(
                            "Vous désinscrire ? Vous ne recevrez plus rien et j'effacerai tout "
                            "ce que je garde sur vous. Pour confirmer : {p}arreter oui"
                        ).format(p=p),
                        choices=(Choice(_("Oui, me désinscrire"), "/arreter oui"),),
                    )
                    return
                erasure = Erasure(self.ctx)
                await erasure.guardian(guardian.id, leave_chat=False)
                await repos.audit.record(
                    "parent", "guardian_erased", self.ctx.clock.now(), detail="/arreter"
                )
                await self.ctx.say(
                    platform,
                    chat,
                    _(
                        "C'est fait : vous êtes désinscrit(e) et ce que je gardais sur vous est "
                        "effacé. Au revoir, et merci d'avoir écouté la classe !"
                    ),
                )
                await erasure.leave_chat(guardian)  # on Matrix: the room goes too
            case _:
                await self.ctx.say(platform, chat, texts.parent_help(p))

    async def _page_links(self, guardian: Guardian) -> str:
        """The family's private page, one per child (made on first use)."""
        if not self.pages.enabled:
            return "Ce service n'a pas de pages web : tout arrive ici, dans cette discussion."
        lines = []
        for sub in await self.ctx.repos.families.subscriptions_of_guardian(guardian.id):
            child = await self.ctx.repos.families.get_child(sub.child_id)
            link = await self.pages.link_for(sub.child_id)
            if child is not None and link is not None:
                lines += [f"La page privée de la famille {of(child.first_name)} :", link]
        if not lines:
            return "Vous n'êtes inscrit(e) pour aucun enfant en ce moment."
        lines.append(
            "Les enregistrements de la classe s'y écoutent sur le téléphone, sans "
            "application. Gardez ce lien pour votre famille : qui l'a peut écouter."
        )
        return "\n".join(lines)


def _resumed(waiting: int, immediate: bool) -> str:
    if not waiting:
        return ""
    count = ngettext("{count} enregistrement", "{count} enregistrements", waiting).format(
        count=waiting
    )
    if immediate:
        return _(
            " Ce qui a été publié pendant la pause ({count}) vous arrive en un seul résumé."
        ).format(count=count)
    return _(
        " Ce qui a été publié pendant la pause ({count}) viendra avec votre prochain résumé."
    ).format(count=count)
