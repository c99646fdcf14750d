"""From inbound events to the handlers that answer them."""

from __future__ import annotations

import logging

from bot.codes import looks_like_code
from bot.commands import KNOWN, Command, parse_command
from bot.i18n import speaking, supported
from bot.ports import (
    BotAddedToChat,
    BotRemovedFromChat,
    ChatAdapter,
    ChatInvite,
    ChatMigrated,
    InboundEvent,
    InboundSink,
    MediaMessage,
    NotHandled,
    ReadReceipt,
    TextMessage,
    Unreadable,
)
from bot.service import texts
from bot.service.context import Context
from bot.service.filing import Filing
from bot.service.listens import ListenCounts
from bot.service.onboarding import Onboarding
from bot.service.parent import ParentCommands
from bot.service.teacher import TeacherCommands
from bot.service.thanks import Thanks
from bot.service.who_speaks import only_tags
from bot.text_norm import fold

log = logging.getLogger("petites_voix.dispatch")


class Dispatcher:
    def __init__(self, ctx: Context, filing: Filing) -> None:
        self.ctx = ctx
        self.filing = filing
        self.onboarding = Onboarding(ctx)
        self.teacher = TeacherCommands(ctx, filing)
        self.parent = ParentCommands(ctx)
        self.listens = ListenCounts(ctx)
        self.thanks = Thanks(ctx)

    def sink_for(self, adapter: ChatAdapter) -> InboundSink:
        platform = adapter.platform

        async def sink(event: InboundEvent) -> None:
            # Raises when the event was neither handled nor stored (a busy
            # database, a full disk): the adapter then keeps it unconfirmed
            # and hands it again (bot.ports.hand_over).
            await self.handle(platform, event)

        return sink

    async def handle(self, platform: str, event: InboundEvent) -> None:
        with speaking(await self._language(platform, event)):
            await self._dispatch(platform, event)

    async def _language(self, platform: str, event: InboundEvent) -> str | None:
        """Whom this event is answered for: a family in its own language, a
        newcomer in its app's language, teachers and groups in French."""
        if isinstance(event, NotHandled) and event.event.chat.is_direct:
            # No database here (it may be what fails): the app's language, if told.
            return supported(event.event.sender.language_code)
        if not isinstance(event, TextMessage | MediaMessage) or not event.chat.is_direct:
            return None
        user = event.sender.user_id
        guardian = await self.ctx.repos.families.guardian_by_user(platform, user)
        if guardian is not None:
            return guardian.language
        hint = supported(event.sender.language_code)
        if hint and await self.ctx.repos.staff.teachers_of_user(platform, user):
            return None
        return hint

    async def _dispatch(self, platform: str, event: InboundEvent) -> None:
        match event:
            case TextMessage():
                await self._text(platform, event)
            case MediaMessage():
                await self._media(platform, event)
            case ChatInvite():
                await self.onboarding.invited(platform, event)
            case BotAddedToChat():
                await self.onboarding.added_to_group(platform, event)
            case BotRemovedFromChat():
                await self.onboarding.removed(platform, event)
            case ReadReceipt():
                await self.listens.receipt(platform, event)
            case ChatMigrated():
                await self.ctx.repos.staff.migrate_chat(
                    platform, event.old_chat_id, event.new_chat_id
                )
            case NotHandled():
                await self._not_handled(platform, event.event)
            case Unreadable():
                await self._unreadable(platform, event)

    async def _not_handled(self, platform: str, msg: TextMessage | MediaMessage) -> None:
        """The adapter gave up on a message after its retries. No database
        here (it may be what fails): media and commands get an answer, and
        anything in a direct chat."""
        log.warning("a message from %s was given up after retries", platform)
        prefixes = self.ctx.adapters[platform].capabilities.command_prefixes
        if isinstance(msg, MediaMessage):
            text = texts.media_not_recorded()
        elif msg.chat.is_direct or parse_command(msg.text, prefixes) is not None:
            text = texts.message_not_handled()
        else:
            return
        reply_to = None if msg.message_id.startswith("cb:") else msg.message_id
        await self.ctx.say(platform, msg.chat.chat_id, text, reply_to=reply_to)

    async def _unreadable(self, platform: str, event: Unreadable) -> None:
        if event.chat.is_direct or await self._is_channel(platform, event.chat.chat_id):
            await self.ctx.say(
                platform, event.chat.chat_id, texts.unreadable(), reply_to=event.message_id
            )

    async def _text(self, platform: str, msg: TextMessage) -> None:
        adapter = self.ctx.adapters[platform]
        command = parse_command(msg.text, adapter.capabilities.command_prefixes)
        if command is None:
            bare = msg.text.strip()
            if (
                msg.chat.is_direct
                and adapter.capabilities.bare_code_in_direct
                and looks_like_code(bare)
            ):
                command = Command("start", bare, "start")
            elif msg.chat.is_direct:
                await self.ctx.say(platform, msg.chat.chat_id, await self._chat(platform, msg))
                return
            elif msg.reply_to and only_tags(msg.text):
                await self.teacher.tags_reply(platform, msg)
                return
            else:
                return  # conversation in the class group: not for the bot
        if command.name not in KNOWN:
            if msg.chat.is_direct or await self._is_channel(platform, msg.chat.chat_id):
                await self.ctx.say(
                    platform,
                    msg.chat.chat_id,
                    texts.unknown_command(command.typed, adapter.capabilities.command_prefixes[0]),
                    reply_to=msg.message_id,
                )
            return
        if command.name == "start" and not msg.chat.is_direct and fold(command.args) == "classe":
            # Added with the welcome's "add to the class group" link.
            await self.teacher.bind(platform, msg, Command("classe", "", command.typed))
        elif command.name == "start":
            await self.onboarding.start(platform, msg, command.args)
        elif msg.chat.is_direct:
            await self._direct_command(platform, msg, command)
        else:
            await self.teacher.in_group(platform, msg, command)

    async def _direct_command(self, platform: str, msg: TextMessage, command: Command) -> None:
        if command.name == "aide":
            await self.ctx.say(platform, msg.chat.chat_id, await self._help(platform, msg))
            return
        guardian = await self.ctx.repos.families.guardian_by_user(platform, msg.sender.user_id)
        if guardian is not None and command.name in {n for n, _ in texts.PARENT_MENU}:
            await self.parent.handle(platform, msg, command, guardian)
            return
        prefix = self.ctx.adapters[platform].capabilities.command_prefixes[0]
        teachers = await self.ctx.repos.staff.teachers_of_user(platform, msg.sender.user_id)
        if teachers:
            groups = await self._classes_with_group(platform, [t.class_id for t in teachers])
            await self.ctx.say(
                platform, msg.chat.chat_id, texts.teacher_command_in_direct(prefix, groups)
            )
            return
        if guardian is not None:
            await self.ctx.say(platform, msg.chat.chat_id, texts.parent_help(prefix))
            return
        await self.ctx.say(platform, msg.chat.chat_id, texts.stranger())

    async def _media(self, platform: str, msg: MediaMessage) -> None:
        if msg.chat.is_direct:
            teachers = await self.ctx.repos.staff.teachers_of_user(platform, msg.sender.user_id)
            text = texts.recording_in_direct() if teachers else texts.stranger()
            await self.ctx.say(platform, msg.chat.chat_id, text, reply_to=msg.message_id)
            return
        channel = await self.ctx.repos.staff.channel_for_chat(platform, msg.chat.chat_id)
        if channel is None:
            return  # the bot is in some group that is no class channel
        await self.filing.receive(platform, msg, channel.class_id)

    async def _classes_with_group(self, platform: str, class_ids: list[int]) -> list[str]:
        """The names of these classes that have their group on this platform."""
        names = []
        for class_id in dict.fromkeys(class_ids):
            channels = await self.ctx.repos.staff.channels_of_class(class_id)
            klass = await self.ctx.repos.schools.get_class(class_id)
            if klass is not None and any(c.platform == platform for c in channels):
                names.append(klass.name)
        return names

    async def _is_channel(self, platform: str, chat_id: str) -> bool:
        return await self.ctx.repos.staff.channel_for_chat(platform, chat_id) is not None

    async def _chat(self, platform: str, msg: TextMessage) -> str:
        """Plain words in a direct chat: a parent's thanks gets a warm word,
        the rest the help that fits the person."""
        if texts.is_thanks(msg.text):
            guardian = await self.ctx.repos.families.guardian_by_user(platform, msg.sender.user_id)
            if guardian is not None:
                await self.thanks.record(guardian)
                return texts.thanks_answer()
        return await self._help(platform, msg)

    async def _parent_settings(self, guardian_id: int, prefix: str) -> str:
        families = self.ctx.repos.families
        subs = await families.subscriptions_of_guardian(guardian_id)
        if not subs:
            return ""
        children = [c.first_name for s in subs if (c := await families.get_child(s.child_id))]
        paused = any(s.paused for s in subs)
        return texts.parent_settings(children, subs[0].frequency, paused, prefix) + "\n\n"

    async def _help(self, platform: str, msg: TextMessage) -> str:
        prefix = self.ctx.adapters[platform].capabilities.command_prefixes[0]
        user = msg.sender.user_id
        guardian = await self.ctx.repos.families.guardian_by_user(platform, user)
        if guardian:
            return await self._parent_settings(guardian.id, prefix) + texts.parent_help(prefix)
        if await self.ctx.repos.staff.teachers_of_user(platform, user):
            return texts.teacher_help(prefix)
        return texts.stranger()
