"""/start with an invitation code, and the bot joining chats."""

from __future__ import annotations

import logging

from bot.i18n import _, language, speaking
from bot.ports import BotAddedToChat, BotRemovedFromChat, ChatInvite, TextMessage
from bot.service import texts
from bot.service.context import Context
from bot.service.family_consent import FamilyConsent
from bot.service.invitations import InvitationService
from bot.service.languages import KEEP_FRENCH, Languages
from storage.records import Invitation

log = logging.getLogger("petites_voix.onboarding")


class Onboarding:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.invitations = InvitationService(ctx)

    async def start(self, platform: str, msg: TextMessage, code: str) -> None:
        chat = msg.chat.chat_id
        if not msg.chat.is_direct:
            await self.ctx.say(
                platform,
                chat,
                _("Pour utiliser une invitation, écrivez-moi en privé (pas dans le groupe)."),
                reply_to=msg.message_id,
            )
            return
        code = code.strip()
        if not code:
            await self.ctx.say(platform, chat, _welcome_without_code())
            return
        if await self.invitations.too_many_wrong(platform, chat):
            await self.ctx.say(platform, chat, _too_many_tries())
            return
        found = await self.invitations.lookup(platform, chat, code)
        if isinstance(found, str):
            await self.ctx.say(platform, chat, _refused(found))
            return
        if found.kind in ("teacher", "coteacher"):
            await self._teacher_joins(platform, msg, found)
        else:
            await self._parent_joins(platform, msg, found)

    async def _teacher_joins(self, platform: str, msg: TextMessage, inv: Invitation) -> None:
        repos, now = self.ctx.repos, self.ctx.clock.now()
        if not await repos.invitations.use(inv.id):
            await self.ctx.say(platform, msg.chat.chat_id, _refused("used"))
            return
        await repos.staff.add_teacher(
            inv.class_id,
            platform,
            msg.sender.user_id,
            msg.chat.chat_id,
            msg.sender.display_name,
            inv.kind,
            now,
        )
        klass = await repos.schools.get_class(inv.class_id)
        assert klass is not None
        await repos.audit.record(
            f"{platform}:{msg.sender.user_id}", "teacher_joined", now, class_id=klass.id
        )
        caps = self.ctx.adapters[platform].capabilities
        await self.ctx.say(
            platform,
            msg.chat.chat_id,
            texts.teacher_welcome(klass.name, klass.school_name, caps),
            choices=texts.add_to_group_button(caps),
        )

    async def _parent_joins(self, platform: str, msg: TextMessage, inv: Invitation) -> None:
        repos, now = self.ctx.repos, self.ctx.clock.now()
        assert inv.child_id is not None
        child = await repos.families.get_child(inv.child_id)
        klass = await repos.schools.get_class(inv.class_id)
        if child is None or klass is None:
            await self.ctx.say(platform, msg.chat.chat_id, _refused("unknown"))
            return
        guardian = await repos.families.guardian_by_user(platform, msg.sender.user_id)
        if guardian is not None:
            existing = await repos.families.subscriptions_of_guardian(guardian.id)
            if any(s.child_id == child.id and s.suspended_reason is None for s in existing):
                await self.ctx.say(
                    platform,
                    msg.chat.chat_id,
                    _("Vous êtes déjà inscrit(e) pour {name}. Rien à faire de plus !").format(
                        name=child.first_name
                    ),
                )
                return
        if not await repos.invitations.use(inv.id):
            await self.ctx.say(platform, msg.chat.chat_id, _refused("used"))
            return
        is_new = guardian is None
        guardian = await repos.families.upsert_guardian(
            platform, msg.sender.user_id, msg.chat.chat_id, now
        )
        if is_new and language() != guardian.language:
            # The app's language (Telegram), used from now on; French stays one tap away.
            await repos.families.set_language(guardian.id, language())
        sub, _created = await repos.families.subscribe(guardian.id, child.id, klass.id, now)
        caps = self.ctx.adapters[platform].capabilities
        prefix = caps.command_prefixes[0]
        welcome = _(
            "C'est fait : vous êtes inscrit(e) pour {name}, classe « {klass} » ({school}).\n"
            "Vous recevrez les enregistrements de la classe {how} (jamais la nuit).\n"
            "Pour changer : {p}frequence immediat, quotidien ou hebdomadaire. "
            "{p}aide pour le reste."
        ).format(
            name=child.first_name,
            klass=klass.name,
            school=klass.school_name,
            how=texts.frequency_words(sub.frequency),
            p=prefix,
        )
        if is_new and msg.sender.language_code is None and caps.asks_language:
            welcome += "\n\n" + Languages(self.ctx).question(platform)
        await self.ctx.say(
            platform,
            msg.chat.chat_id,
            welcome,
            choices=(KEEP_FRENCH,) if is_new and language() != "fr" else (),
        )
        await FamilyConsent(self.ctx).ask_once(platform, msg.chat.chat_id, guardian, child)

    async def invited(self, platform: str, event: ChatInvite) -> None:
        """A Matrix room invite: direct chats are welcome (anyone may bring a
        code); other rooms only when a teacher of this service invites."""
        adapter = self.ctx.adapters[platform]
        if event.chat.is_direct:
            await adapter.join(event.chat.chat_id)
            return
        teachers = await self.ctx.repos.staff.teachers_of_user(platform, event.inviter.user_id)
        if teachers:
            await adapter.join(event.chat.chat_id)
            prefix = adapter.capabilities.command_prefixes[0]
            await self.ctx.say(
                platform,
                event.chat.chat_id,
                f"Bonjour ! Tapez {prefix}classe pour que ce salon devienne le canal de la classe.",
            )
        else:
            log.info("declined a room invitation from someone who is not a teacher")
            await adapter.leave(event.chat.chat_id)

    async def removed(self, platform: str, event: BotRemovedFromChat) -> None:
        repos = self.ctx.repos
        if not event.chat.is_direct:
            await repos.staff.unbind_channel(platform, event.chat.chat_id)
            return
        # A parent blocked the bot: nothing more is sent until they come back.
        guardian = await repos.families.guardian_by_chat(platform, event.chat.chat_id)
        if guardian is not None:
            await repos.families.suspend_guardian(guardian.id, "blocked")

    async def added_to_group(self, platform: str, event: BotAddedToChat) -> None:
        adapter = self.ctx.adapters[platform]
        by = event.by.user_id if event.by else None
        if event.chat.is_direct:
            await self._back_in_direct_chat(platform, event)
            return
        if event.chat.is_broadcast:
            await self._not_a_group(platform, event.chat.chat_id)
            return
        if by and await self.ctx.repos.staff.teachers_of_user(platform, by):
            prefix = adapter.capabilities.command_prefixes[0]
            await self.ctx.say(
                platform,
                event.chat.chat_id,
                f"Bonjour ! Tapez {prefix}classe pour que ce groupe devienne le groupe de la "
                "classe.",
            )
            return
        await self.ctx.say(
            platform,
            event.chat.chat_id,
            "Bonjour ! Je ne sers qu'aux classes qui m'ont invité. Je quitte ce groupe.",
        )
        await adapter.leave(event.chat.chat_id)

    async def _not_a_group(self, platform: str, chat_id: str) -> None:
        """A Telegram "canal" is a broadcast channel, not the group of the
        class: say so (teachers often mix the two) and leave."""
        await self.ctx.say(platform, chat_id, texts.broadcast_channel())
        try:
            await self.ctx.adapters[platform].leave(chat_id)
        except Exception as exc:  # the platform's trouble: nothing more to do
            log.warning("could not leave a broadcast channel: %s", type(exc).__name__)

    async def _back_in_direct_chat(self, platform: str, event: BotAddedToChat) -> None:
        """A parent unblocked the bot: deliveries start again from now on."""
        guardian = await self.ctx.repos.families.guardian_by_chat(platform, event.chat.chat_id)
        if guardian is not None and await self.ctx.repos.families.lift_suspension(guardian.id):
            with speaking(guardian.language):
                await self.ctx.say(
                    platform,
                    event.chat.chat_id,
                    _(
                        "Content de vous revoir ! Vous recevez à nouveau les enregistrements "
                        "de la classe."
                    ),
                )


def _welcome_without_code() -> str:
    return _(
        "Bonjour ! Pour vous inscrire, ouvrez le lien de l'invitation donnée par l'école, "
        "ou envoyez-moi le code qui y figure."
    )


def _too_many_tries() -> str:
    return _(
        "Trop de codes erronés en peu de temps. Attendez un quart d'heure, puis vérifiez le "
        "code de l'invitation (les majuscules comptent)."
    )


def _refused(why: str) -> str:
    if why == "expired":
        return _(
            "Cette invitation a expiré. Demandez-en une nouvelle à la personne qui vous l'a donnée."
        )
    if why == "used":
        return _(
            "Cette invitation a déjà servi autant de fois que prévu. Demandez-en une nouvelle "
            "à la personne qui vous l'a donnée."
        )
    return _(
        "Je ne reconnais pas ce code. Vérifiez-le (les majuscules comptent) ou demandez-en "
        "un nouveau à la personne qui vous l'a donné."
    )
