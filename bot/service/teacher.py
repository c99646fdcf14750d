"""Commands a teacher types in the class channel."""

from __future__ import annotations

import logging
import shutil
from collections.abc import Awaitable, Callable

from bot.children import ambiguity_question, child_key, find_by_name, tidy_child_name
from bot.commands import Command
from bot.i18n import _, ngettext, supported
from bot.ports import TextMessage
from bot.schedule_words import WeeklySlot, parse_weekly_slot
from bot.service import texts
from bot.service.context import Context
from bot.service.filing import Filing
from bot.service.invitations import InvitationService
from bot.service.listens import ListenCounts
from bot.service.teacher_children import ChildrenCommands
from bot.service.teacher_recordings import RecordingCommands
from bot.text_norm import fold
from storage.records import Class, Teacher

log = logging.getLogger("petites_voix.teacher")

Handler = Callable[[str, TextMessage, Command, Class], Awaitable[None]]


class TeacherCommands:
    def __init__(self, ctx: Context, filing: Filing) -> None:
        self.ctx = ctx
        self.filing = filing
        self.invitations = InvitationService(ctx)
        self.recordings = RecordingCommands(ctx)
        self.children = ChildrenCommands(ctx)
        self.handlers: dict[str, Handler] = {
            "album": self.album,
            "albums": self.albums,
            "invitation": self.invitation,
            "invitations": self.printable_invitations,
            "revoquer": self.revoke,
            "coenseignant": self.co_teacher,
            "annuler": self.recordings.cancel,
            "retirer": self.recordings.withdraw,
            "resume": self.weekly_digest,
            "parents": self.parents,
            "consentement": self.children.consent,
            "enfants": self.children.register,
            "renommer": self.children.rename,
            "depart": self.children.departure,
            "ecoutes": self.listens,
            "aide": self.help,
        }

    async def _reply(self, platform: str, msg: TextMessage, text: str) -> None:
        """Answer in the channel, as a reply to what the teacher typed."""
        await self.ctx.say(platform, msg.chat.chat_id, text, reply_to=msg.message_id)

    def _prefix(self, platform: str) -> str:
        return self.ctx.adapters[platform].capabilities.command_prefixes[0]

    async def tags_reply(self, platform: str, msg: TextMessage) -> None:
        """A reply made of tags, or a "Qui parle ?" button, in a class channel."""
        channel = await self.ctx.repos.staff.channel_for_chat(platform, msg.chat.chat_id)
        if channel is None:
            return
        if not await self.ctx.repos.staff.is_teacher_of(
            channel.class_id, platform, msg.sender.user_id
        ):
            return  # a parent or a guest chatting in the group: not for the bot
        klass = await self.ctx.repos.schools.get_class(channel.class_id)
        assert klass is not None
        await self.recordings.who_speaks(platform, msg, klass)

    async def in_group(self, platform: str, msg: TextMessage, command: Command) -> None:
        chat = msg.chat.chat_id
        user = msg.sender.user_id
        if command.name == "classe":
            await self.bind(platform, msg, command)
            return
        channel = await self.ctx.repos.staff.channel_for_chat(platform, chat)
        if channel is None:
            if await self.ctx.repos.staff.teachers_of_user(platform, user):
                await self._reply(
                    platform,
                    msg,
                    f"Ce groupe n'est pas encore le canal d'une classe : tapez d'abord "
                    f"{self._prefix(platform)}classe.",
                )
            return
        if not await self.ctx.repos.staff.is_teacher_of(channel.class_id, platform, user):
            await self._reply(
                platform,
                msg,
                "Seuls les enseignants de la classe peuvent utiliser cette commande.",
            )
            return
        handler = self.handlers.get(command.name)
        if handler is None:
            await self._reply(
                platform,
                msg,
                f"La commande {command.typed} s'utilise en conversation privée avec moi.",
            )
            return
        klass = await self.ctx.repos.schools.get_class(channel.class_id)
        assert klass is not None
        await handler(platform, msg, command, klass)

    async def bind(self, platform: str, msg: TextMessage, command: Command) -> None:
        repos, chat = self.ctx.repos, msg.chat.chat_id
        teachers = await repos.staff.teachers_of_user(platform, msg.sender.user_id)
        if not teachers:
            await self._reply(
                platform,
                msg,
                "Seuls les enseignants invités peuvent faire de ce groupe le canal d'une classe.",
            )
            return
        classes = [c for t in teachers if (c := await repos.schools.get_class(t.class_id))]
        if len(classes) > 1:
            wanted = fold(command.args)
            classes = [c for c in classes if fold(c.name) == wanted] if wanted else classes
        if len(classes) != 1:
            names = ", ".join(c.name for c in classes)
            await self._reply(
                platform,
                msg,
                f"Vous avez plusieurs classes ({names}). Précisez : "
                f"{self._prefix(platform)}classe NOM",
            )
            return
        klass = classes[0]
        now = self.ctx.clock.now()
        await repos.staff.bind_channel(klass.id, platform, chat, now)
        await repos.audit.record(
            f"{platform}:{msg.sender.user_id}", "channel_bound", now, class_id=klass.id
        )
        album = await repos.albums.current(klass.id)
        p = self._prefix(platform)
        lines = [f"Ce groupe est maintenant le canal de la classe « {klass.name} »."]
        lines.append(
            f"Album en cours : « {album.title} »."
            if album
            else f"Choisissez l'album en cours : {p}album Titre de l'album"
        )
        lines.append(
            "Postez ici les notes vocales ou les fichiers audio : je les range et les envoie "
            "aux familles."
        )
        if not self.ctx.adapters[platform].capabilities.sees_group_media:
            lines.append(
                "Attention : il se peut que je ne voie pas les fichiers postés dans ce groupe. "
                "Nommez-moi administrateur du groupe, ou demandez à la personne qui gère le "
                "robot (l'informatique de l'école) de désactiver son « mode confidentialité »."
            )
        await self.ctx.say(platform, chat, "\n".join(lines))

    async def album(self, platform: str, msg: TextMessage, command: Command, klass: Class) -> None:
        title = " ".join(command.args.split())
        if not title:
            await self.albums(platform, msg, command, klass)
            return
        if len(title) > 200:
            title = title[:200]
        album, created = await self.ctx.repos.albums.make_current(
            klass.id, title, fold(title), self.ctx.clock.now()
        )
        what = "nouvel album" if created else "album"
        await self._reply(
            platform,
            msg,
            f"C'est noté : {what} n°{album.position} « {album.title} ». Les prochains "
            f"enregistrements y seront rangés.",
        )

    async def albums(self, platform: str, msg: TextMessage, command: Command, klass: Class) -> None:
        await self.ctx.say(
            platform, msg.chat.chat_id, await album_list(self.ctx, klass.id, platform)
        )

    async def invitation(
        self, platform: str, msg: TextMessage, command: Command, klass: Class
    ) -> None:
        name = tidy_child_name(command.args)
        if not name or len(name) > 60:
            await self.ctx.say(
                platform,
                msg.chat.chat_id,
                f"Donnez le prénom de l'enfant : {self._prefix(platform)}invitation Prénom",
            )
            return
        now = self.ctx.clock.now()
        match = find_by_name(name, await self.ctx.repos.families.children_of_class(klass.id))
        if match.ambiguous:
            await self._reply(platform, msg, ambiguity_question(name, match.candidates))
            return
        child = match.child
        if child is None:
            child, _created = await self.ctx.repos.families.ensure_child(
                klass.id, name, child_key(name), now
            )
        invite = await self.invitations.create("parent", klass.id, child.id)
        await self.ctx.repos.audit.record(
            f"{platform}:{msg.sender.user_id}",
            "parent_invitation",
            now,
            class_id=klass.id,
            detail=child.first_name,
        )
        teacher = await self._teacher(platform, msg, klass)
        tz = self.ctx.settings.schedule.timezone
        text = (
            f"Invitation pour la famille de {child.first_name} (classe « {klass.name} »), "
            f"valable jusqu'au {texts.date(invite.expires_at, tz)}, pour "
            f"{texts.plural(self.ctx.settings.invitations.parent_max_uses, 'parent')} au plus :\n"
            + texts.code_block(
                invite.code,
                self.invitations.link(platform, invite.code),
                self.invitations.web_link(invite.code),
            )
            + "\nDonnez-la aux parents (papier du cahier de liaison, ou "
            f"{self._prefix(platform)}invitations pour toutes les imprimer)."
        )
        # The code goes to the teacher's private chat, never to the group.
        sent = await self.ctx.say(platform, teacher.chat_id, text)
        what = f"L'invitation pour la famille de {child.first_name}"
        await self._reply(
            platform,
            msg,
            f"{what} vous est envoyée en privé."
            if sent
            else texts.private_send_failed(what, f"{self._prefix(platform)}invitation {name}"),
        )

    async def revoke(self, platform: str, msg: TextMessage, command: Command, klass: Class) -> None:
        name = tidy_child_name(command.args)
        children = await self.ctx.repos.families.children_of_class(klass.id)
        child = find_by_name(name, children).child if name else None
        if child is None:
            await self._reply(
                platform,
                msg,
                f"Je ne trouve pas cet enfant. Écrivez : {self._prefix(platform)}revoquer Prénom",
            )
            return
        now = self.ctx.clock.now()
        count = await self.ctx.repos.invitations.revoke_for_child(child.id, now)
        await self.ctx.repos.audit.record(
            f"{platform}:{msg.sender.user_id}",
            "invitations_revoked",
            now,
            class_id=klass.id,
            detail=child.first_name,
        )
        family = f"pour la famille de {child.first_name}"
        if count == 0:
            done = f"Aucune invitation en cours {family} : rien à annuler."
        elif count == 1:
            done = f"1 invitation {family} annulée : elle ne sert plus."
        else:
            done = f"{count} invitations {family} annulées : elles ne servent plus."
        await self._reply(platform, msg, done + " Les parents déjà inscrits le restent.")

    async def co_teacher(
        self, platform: str, msg: TextMessage, command: Command, klass: Class
    ) -> None:
        invite = await self.invitations.create("coteacher", klass.id)
        teacher = await self._teacher(platform, msg, klass)
        await self.ctx.repos.audit.record(
            f"{platform}:{msg.sender.user_id}",
            "coteacher_invitation",
            self.ctx.clock.now(),
            class_id=klass.id,
        )
        tz = self.ctx.settings.schedule.timezone
        sent = await self.ctx.say(
            platform,
            teacher.chat_id,
            f"Invitation pour un(e) collègue ou l'ATSEM de la classe « {klass.name} », à usage "
            f"unique, valable jusqu'au {texts.date(invite.expires_at, tz)}. La personne "
            "l'envoie au robot en privé :\n"
            + texts.code_block(
                invite.code,
                self.invitations.link(platform, invite.code),
                self.invitations.web_link(invite.code),
            ),
        )
        what = "L'invitation de co-enseignant(e)"
        await self.ctx.say(
            platform,
            msg.chat.chat_id,
            f"{what} vous est envoyée en privé."
            if sent
            else texts.private_send_failed(what, f"{self._prefix(platform)}coenseignant"),
        )

    async def _teacher(self, platform: str, msg: TextMessage, klass: Class) -> Teacher:
        return next(
            t
            for t in await self.ctx.repos.staff.teachers_of_class(klass.id)
            if t.platform == platform and t.user_id == msg.sender.user_id
        )

    async def printable_invitations(
        self, platform: str, msg: TextMessage, command: Command, klass: Class
    ) -> None:
        from bot.service.slips_service import class_slips_pdf  # PDF libs load on demand

        children = await self.ctx.repos.families.children_of_class(klass.id)
        if not children:
            await self._reply(
                platform,
                msg,
                f"Aucun enfant dans la classe pour l'instant : "
                f"{self._prefix(platform)}invitation Prénom, ou l'import ONDE par l'école.",
            )
            return
        wanted = command.args.strip()
        language = supported(wanted) if wanted else None
        if wanted and language is None:
            await self._reply(
                platform,
                msg,
                f"Je ne connais pas la langue « {wanted} ». Les fiches existent en français "
                f"seul ({self._prefix(platform)}invitations) ou avec l'une de ces langues : "
                "ar (arabe), en (anglais), es (espagnol), pt (portugais), tr (turc). "
                f"Par exemple : {self._prefix(platform)}invitations ar",
            )
            return
        teacher = await self._teacher(platform, msg, klass)
        document = await class_slips_pdf(self.ctx, self.invitations, klass, platform, language)
        both = f", en français et en {LANGUAGE_NAMES_FR[language]}" if language else ""
        slips = (
            f"L'invitation de la classe « {klass.name} »{both}, à imprimer et coller dans "
            "le cahier de liaison."
            if len(children) == 1
            else f"Les {len(children)} invitations de la classe « {klass.name} »{both}, à "
            "imprimer et coller dans les cahiers de liaison."
        )
        try:
            sent = await self.ctx.say(platform, teacher.chat_id, slips, document=document)
        finally:
            shutil.rmtree(document.path.parent, ignore_errors=True)
        what = "L'invitation à imprimer" if len(children) == 1 else "Les invitations à imprimer"
        await self.ctx.say(
            platform,
            msg.chat.chat_id,
            (
                f"{what} vous est envoyée en privé."
                if len(children) == 1
                else f"{what} vous sont envoyées en privé."
            )
            if sent
            else texts.private_send_failed(
                what,
                f"{self._prefix(platform)}invitations {wanted}".rstrip(),
                several=len(children) > 1,
            ),
        )

    async def weekly_digest(
        self, platform: str, msg: TextMessage, command: Command, klass: Class
    ) -> None:
        try:
            slot = parse_weekly_slot(command.args)
        except ValueError:
            current = WeeklySlot.from_storage(klass.weekly_digest)
            await self._reply(
                platform,
                msg,
                f"Le résumé de la semaine part le {current.french()}. Pour changer : "
                f"{self._prefix(platform)}resume vendredi 16:30",
            )
            return
        await self.ctx.repos.schools.set_weekly_digest(klass.id, slot.storage())
        await self.ctx.repos.audit.record(
            f"{platform}:{msg.sender.user_id}",
            "weekly_digest",
            self.ctx.clock.now(),
            class_id=klass.id,
            detail=slot.storage(),
        )
        await self._reply(
            platform,
            msg,
            f"C'est noté : le résumé de la semaine partira chaque {slot.french()}.",
        )

    async def parents(
        self, platform: str, msg: TextMessage, command: Command, klass: Class
    ) -> None:
        lines_ = await self.ctx.repos.families.family_lines(klass.id)
        if not lines_:
            await self.ctx.say(
                platform, msg.chat.chat_id, "Aucune famille inscrite pour l'instant."
            )
            return
        out = [f"Familles de la classe « {klass.name} » :"]
        families = 0
        for line in lines_:
            if line.guardians == 0 and line.has_page:
                families += 1
                out.append(f"• {line.first_name} : sa page web seulement")
                continue
            if line.guardians == 0:
                out.append(f"• {line.first_name} : pas encore inscrite")
                continue
            families += 1
            how = ", ".join(
                f"{count} {texts.PLATFORM_WORDS.get(name, name)}" for name, count in line.platforms
            )
            details = [
                f"{line.guardians} parent{'s' if line.guardians > 1 else ''}"
                + (f" ({how})" if how else "")
            ]
            if line.digest:
                details.append(f"{line.digest} en résumé")
            if line.paused:
                details.append(f"{line.paused} en pause")
            blocked = line.suspended - line.email_refused
            if blocked:
                unreachable = "injoignable" if blocked < 2 else "injoignables"
                details.append(f"{blocked} {unreachable} (a bloqué le robot ?)")
            if line.email_refused:
                refused = line.email_refused
                codes = f" (code {', '.join(line.refusal_codes)})" if line.refusal_codes else ""
                details.append(
                    (
                        f"{refused} adresse e-mail refusée par le serveur"
                        if refused < 2
                        else f"{refused} adresses e-mail refusées par le serveur"
                    )
                    + codes
                )
            if line.consent is not True:
                details.append("accord d'enregistrement non donné")
            out.append(f"• {line.first_name} : " + ", ".join(details))
        signed = "inscrite" if families < 2 else "inscrites"
        out.insert(
            1, f"{texts.families(families)} {signed} sur {texts.plural(len(lines_), 'enfant')}."
        )
        reach = texts.family_reach(lines_)
        if reach:
            out.insert(2, reach)
        await self.ctx.say(platform, msg.chat.chat_id, "\n".join(out))

    async def listens(
        self, platform: str, msg: TextMessage, command: Command, klass: Class
    ) -> None:
        """Per recording of an album: how many families listened, out of how
        many may hear it. Counts only, unless the operator set listen_details."""
        repos = self.ctx.repos
        arg = command.args.strip()
        if arg.isdigit():
            album = await repos.albums.by_position(klass.id, int(arg))
        else:
            album = await repos.albums.current(klass.id)
        if album is None:
            await self._reply(
                platform, msg, f"Quel album ? {self._prefix(platform)}albums donne leurs numéros."
            )
            return
        lines = await ListenCounts(self.ctx).of_album(album)
        await self.ctx.say(platform, msg.chat.chat_id, texts.listen_report(album, lines))

    async def help(self, platform: str, msg: TextMessage, command: Command, klass: Class) -> None:
        await self.ctx.say(platform, msg.chat.chat_id, texts.teacher_help(self._prefix(platform)))


# For the teacher, in French.
LANGUAGE_NAMES_FR = {
    "fr": "français",
    "ar": "arabe",
    "en": "anglais",
    "es": "espagnol",
    "pt": "portugais",
    "tr": "turc",
}


async def album_list(ctx: Context, class_id: int, platform: str) -> str:
    albums = await ctx.repos.albums.of_class(class_id)
    p = ctx.adapters[platform].capabilities.command_prefixes[0]
    if not albums:
        return _("Pas encore d'album. L'enseignant(e) le choisit avec {p}album Titre.").format(p=p)
    lines = [_("Albums de la classe :")]
    for album in albums:
        count = await ctx.repos.recordings.count_live_in_album(album.id)
        mark = _(" (en cours)") if album.is_current else ""
        recordings = ngettext("{count} enregistrement", "{count} enregistrements", count)
        lines.append(f"{album.position}. {album.title}{mark} : {recordings.format(count=count)}")
    return "\n".join(lines)
