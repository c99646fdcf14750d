"""The teacher's commands about one recording, by replying to it: /annuler,
/retirer, and who speaks (a reply made of tags, or the buttons)."""

from __future__ import annotations

from bot.commands import Command
from bot.ports import TextMessage
from bot.service.context import Context
from bot.service.who_speaks import WhoSpeaks, read_tags
from bot.service.withdrawal import Withdrawal
from storage.records import Class, Recording


class RecordingCommands:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.withdrawal = Withdrawal(ctx)
        self.who = WhoSpeaks(ctx)

    def _p(self, platform: str) -> str:
        return self.ctx.adapters[platform].capabilities.command_prefixes[0]

    async def _answer(self, platform: str, msg: TextMessage, text: str) -> None:
        await self.ctx.say(platform, msg.chat.chat_id, text, reply_to=msg.message_id)

    async def _replied(self, platform: str, msg: TextMessage, klass: Class) -> Recording | None:
        """The recording a message answers (the teacher's post or the bot's answer)."""
        if not msg.reply_to:
            return None
        rec = await self.ctx.repos.recordings.by_message(platform, msg.chat.chat_id, msg.reply_to)
        return rec if rec and rec.class_id == klass.id else None

    async def cancel(self, platform: str, msg: TextMessage, command: Command, klass: Class) -> None:
        rec = await self._replied(platform, msg, klass)
        rec_id = rec.id if rec else None
        if rec_id is None and not msg.reply_to:
            latest = await self.ctx.repos.recordings.latest_open(
                klass.id, f"{platform}:{msg.sender.user_id}"
            )
            rec_id = latest.id if latest else None
        if rec_id is None:
            await self._answer(
                platform,
                msg,
                "Je ne trouve pas d'enregistrement à annuler. Répondez à l'enregistrement "
                f"avec {self._p(platform)}annuler.",
            )
            return
        text = await self.withdrawal.cancel(rec_id, f"{platform}:{msg.sender.user_id}")
        await self._answer(platform, msg, text)

    async def withdraw(
        self, platform: str, msg: TextMessage, command: Command, klass: Class
    ) -> None:
        rec = await self._replied(platform, msg, klass)
        if rec is None:
            await self._answer(
                platform,
                msg,
                f"Répondez à l'enregistrement à retirer avec {self._p(platform)}retirer.",
            )
            return
        text = await self.withdrawal.withdraw(rec.id, f"{platform}:{msg.sender.user_id}")
        await self._answer(platform, msg, text)

    async def who_speaks(self, platform: str, msg: TextMessage, klass: Class) -> None:
        """A reply made of tags: who speaks in the recording it answers."""
        rec = await self._replied(platform, msg, klass)
        if rec is None:
            await self._answer(
                platform,
                msg,
                "Pour dire qui parle, répondez à l'enregistrement (ou à mon message à son "
                "sujet) avec les prénoms : #Lina #Tom.",
            )
            return
        text = await self.who.apply(rec, read_tags(msg.text))
        await self._answer(platform, msg, text)
