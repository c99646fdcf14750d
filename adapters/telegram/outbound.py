"""OutboundMessage -> Bot API calls: text, buttons, documents, voice/audio."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path

from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputFile,
    Message,
    ReplyParameters,
)
from telegram import error as tg

from adapters.telegram.errors import is_refused_file_id, is_voice_forbidden, map_error
from adapters.telegram.text import MAX_CAPTION, split_text, truncate
from bot.ports import (
    Choice,
    MediaFile,
    OutboundAudio,
    OutboundDocument,
    OutboundMessage,
    PermanentFailure,
    Receipt,
)

log = logging.getLogger(__name__)

MAX_UPLOAD = 50 * 1024 * 1024
MAX_CALLBACK_DATA = 64  # bytes

_SendMedia = Callable[[str | InputFile], Awaitable[Message]]


def keyboard(choices: tuple[Choice, ...]) -> InlineKeyboardMarkup | None:
    """Buttons whose ``callback_data`` is the command; short labels share a row."""
    buttons = []
    for choice in choices:
        if len(choice.command.encode()) > MAX_CALLBACK_DATA:
            log.warning("button dropped: its command is over %d bytes", MAX_CALLBACK_DATA)
            continue
        buttons.append(InlineKeyboardButton(choice.label, callback_data=choice.command))
    if not buttons:
        return None
    if all(len(b.text) <= 14 for b in buttons):
        rows = [buttons[i : i + 3] for i in range(0, len(buttons), 3)]
    else:
        rows = [[b] for b in buttons]
    return InlineKeyboardMarkup(rows)


async def _read(path: Path) -> bytes:
    return await asyncio.to_thread(path.read_bytes)


class Outbound:
    """Sends one OutboundMessage; raises the port's DeliveryError subclasses."""

    def __init__(self, bot: Bot) -> None:
        self.bot = bot

    async def send(self, message: OutboundMessage) -> Receipt:
        """Text first (split at 4096), then the document or the recording.

        The receipt's id is the media message when there is one, else the
        text; several messages give ``"id1,id2"`` (``delete`` removes all).
        Buttons go under the last message.
        """
        chat = message.chat_id
        markup = keyboard(message.choices)
        has_media = message.audio is not None or message.document is not None
        pieces = split_text(message.text) if message.text.strip() else []
        ids: list[str] = []
        refs: dict[str, str] = {}
        reply_to = message.reply_to
        try:
            for i, piece in enumerate(pieces):
                last = i == len(pieces) - 1 and not has_media
                sent = await self.bot.send_message(
                    chat,
                    piece,
                    reply_parameters=_reply(reply_to),
                    reply_markup=markup if last else None,
                )
                ids.append(str(sent.message_id))
                reply_to = None
            if message.document is not None:
                sent = await self._document(chat, message.document, reply_to, markup)
                ids.append(str(sent.message_id))
            if message.audio is not None:
                mid, refs = await self._audio(chat, message.audio, reply_to, markup)
                ids.append(mid)
        except tg.TelegramError as exc:
            raise map_error(exc, chat) from exc
        if not ids:
            raise PermanentFailure("empty_message")
        return Receipt(message_id=",".join(ids), media_refs=refs)

    async def _document(
        self,
        chat: str,
        doc: OutboundDocument,
        reply_to: str | None,
        markup: InlineKeyboardMarkup | None,
    ) -> Message:
        data = await _read(doc.path)
        if len(data) > MAX_UPLOAD:
            raise PermanentFailure("too_big", f"{len(data)} bytes")
        return await self.bot.send_document(
            chat,
            InputFile(data, filename=doc.filename),
            reply_parameters=_reply(reply_to),
            reply_markup=markup,
        )

    async def _audio(
        self,
        chat: str,
        audio: OutboundAudio,
        reply_to: str | None,
        markup: InlineKeyboardMarkup | None,
    ) -> tuple[str, dict[str, str]]:
        """The voice note; the compat file as audio where voice notes are refused."""
        try:
            sent = await self._with_cache(
                audio.voice,
                lambda media: self.bot.send_voice(
                    chat,
                    media,
                    duration=round(audio.duration_s),
                    caption=truncate(audio.title, MAX_CAPTION) or None,
                    reply_parameters=_reply(reply_to),
                    reply_markup=markup,
                ),
            )
            file_id = sent.voice.file_id if sent.voice else None
            variant = audio.voice.variant
        except tg.BadRequest as exc:
            if not is_voice_forbidden(exc):
                raise
            sent = await self._with_cache(
                audio.compat,
                lambda media: self.bot.send_audio(
                    chat,
                    media,
                    duration=round(audio.duration_s),
                    title=audio.title or None,
                    performer=audio.performer or None,
                    reply_parameters=_reply(reply_to),
                    reply_markup=markup,
                ),
            )
            file_id = sent.audio.file_id if sent.audio else None
            variant = audio.compat.variant
        refs = {variant: file_id} if file_id else {}
        return str(sent.message_id), refs

    async def _with_cache(self, media: MediaFile, send: _SendMedia) -> Message:
        """``send`` with the cached file_id; with the bytes when there is none
        or Telegram refuses it."""
        if media.cached_ref:
            try:
                return await send(media.cached_ref)
            except tg.BadRequest as exc:
                if not is_refused_file_id(exc):
                    raise
                log.info("cached file_id refused, uploading %s again", media.variant)
        if media.size > MAX_UPLOAD:
            raise PermanentFailure("too_big", f"{media.size} bytes")
        data = await _read(media.path)
        return await send(InputFile(data, filename=media.path.name))


def _reply(message_id: str | None) -> ReplyParameters | None:
    """Reply to a stored message id (maybe ``"a,b"``: the last one); still
    send when that message is gone."""
    if not message_id:
        return None
    last = message_id.split(",")[-1]
    if not last.isdigit():
        return None
    return ReplyParameters(int(last), allow_sending_without_reply=True)
