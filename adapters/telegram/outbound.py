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

from adapters.telegram.errors import (
    is_refused_file_id,
    is_voice_forbidden,
    map_error,
    retry_after_seconds,
)
from adapters.telegram.text import MAX_CAPTION, split_text, truncate, utf16_len
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

# Between two parts of one message to the same chat (Telegram: ~1 message/s).
PART_INTERVAL_S = 1.0
# A 429 after a part already went out is waited out here, within reason.
MID_MESSAGE_RETRIES = 3
MID_MESSAGE_MAX_WAIT_S = 30.0

_SendMedia = Callable[[str | InputFile], Awaitable[Message]]
_Part = Callable[[ReplyParameters | None], Awaitable[tuple[str, dict[str, str]]]]


def keyboard(choices: tuple[Choice, ...]) -> InlineKeyboardMarkup | None:
    """Buttons whose ``callback_data`` is the command; short labels share a row."""
    buttons = []
    for choice in choices:
        if choice.url:
            buttons.append(InlineKeyboardButton(choice.label, url=choice.url))
            continue
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


class _VoiceForbidden(Exception):
    pass


class Outbound:
    """Sends one OutboundMessage; raises the port's DeliveryError subclasses."""

    def __init__(self, bot: Bot) -> None:
        self.bot = bot
        # Chats whose user refuses voice notes (privacy setting): audio at once.
        self._no_voice: set[str] = set()

    async def send(self, message: OutboundMessage) -> Receipt:
        """One OutboundMessage as one Telegram message whenever possible.

        With a recording or a document, the text becomes its caption when it
        fits (1,024 units; the recording's title otherwise); a longer text
        goes first, split at 4,096 units. Parts of one message are a second
        apart (Telegram's pace for one chat) and a 429 met after the first
        part is waited out here, so that the core never sends a part twice.
        The receipt's id is ``"id1,id2"`` when there are several parts
        (``delete`` removes them all). Buttons go under the last part.
        """
        chat = message.chat_id
        markup = keyboard(message.choices)
        text = message.text if message.text.strip() else ""
        has_media = message.audio is not None or message.document is not None
        caption: str | None = None
        pieces: list[str] = []
        if has_media and utf16_len(text) <= MAX_CAPTION:
            caption = text or None
        elif text:
            pieces = split_text(text)
        parts: list[_Part] = []
        for i, piece in enumerate(pieces):
            last = i == len(pieces) - 1 and not has_media
            parts.append(self._text_part(chat, piece, markup if last else None))
        if message.document is not None:
            parts.append(self._document_part(chat, message.document, caption, markup))
        if message.audio is not None:
            title = caption or truncate(message.audio.title, MAX_CAPTION) or None
            parts.append(self._audio_part(chat, message.audio, title, markup))
        if not parts:
            raise PermanentFailure("empty_message")
        ids: list[str] = []
        refs: dict[str, str] = {}
        reply_to = message.reply_to
        for i, part in enumerate(parts):
            if i:
                await asyncio.sleep(PART_INTERVAL_S)
            mid, part_refs = await self._run_part(part, _reply(reply_to), chat, first=i == 0)
            ids.append(mid)
            refs.update(part_refs)
            reply_to = None
        return Receipt(message_id=",".join(ids), media_refs=refs)

    async def _run_part(
        self, part: _Part, reply: ReplyParameters | None, chat: str, *, first: bool
    ) -> tuple[str, dict[str, str]]:
        attempts = 0
        while True:
            try:
                return await part(reply)
            except tg.RetryAfter as exc:
                attempts += 1
                wait = retry_after_seconds(exc)
                if first or attempts > MID_MESSAGE_RETRIES or wait > MID_MESSAGE_MAX_WAIT_S:
                    raise map_error(exc, chat) from exc
                log.info("429 in the middle of a message: waiting %.0f s", wait)
                await asyncio.sleep(wait)
            except tg.TelegramError as exc:
                raise map_error(exc, chat) from exc

    def _text_part(self, chat: str, text: str, markup: InlineKeyboardMarkup | None) -> _Part:
        async def part(reply: ReplyParameters | None) -> tuple[str, dict[str, str]]:
            sent = await self.bot.send_message(
                chat, text, reply_parameters=reply, reply_markup=markup
            )
            return str(sent.message_id), {}

        return part

    def _document_part(
        self,
        chat: str,
        doc: OutboundDocument,
        caption: str | None,
        markup: InlineKeyboardMarkup | None,
    ) -> _Part:
        async def part(reply: ReplyParameters | None) -> tuple[str, dict[str, str]]:
            sent = await self._document(chat, doc, caption, reply, markup)
            return str(sent.message_id), {}

        return part

    def _audio_part(
        self,
        chat: str,
        audio: OutboundAudio,
        caption: str | None,
        markup: InlineKeyboardMarkup | None,
    ) -> _Part:
        async def part(reply: ReplyParameters | None) -> tuple[str, dict[str, str]]:
            return await self._audio(chat, audio, caption, reply, markup)

        return part

    async def _document(
        self,
        chat: str,
        doc: OutboundDocument,
        caption: str | None,
        reply: ReplyParameters | None,
        markup: InlineKeyboardMarkup | None,
    ) -> Message:
        data = await _read(doc.path)
        if len(data) > MAX_UPLOAD:
            raise PermanentFailure("too_big", f"{len(data)} bytes")
        return await self.bot.send_document(
            chat,
            InputFile(data, filename=doc.filename),
            caption=caption,
            reply_parameters=reply,
            reply_markup=markup,
        )

    async def _audio(
        self,
        chat: str,
        audio: OutboundAudio,
        caption: str | None,
        reply: ReplyParameters | None,
        markup: InlineKeyboardMarkup | None,
    ) -> tuple[str, dict[str, str]]:
        """The voice note; the compat file as audio where voice notes are refused."""
        try:
            if chat in self._no_voice:
                raise _VoiceForbidden
            sent = await self._with_cache(
                audio.voice,
                lambda media: self.bot.send_voice(
                    chat,
                    media,
                    duration=round(audio.duration_s),
                    caption=caption,
                    reply_parameters=reply,
                    reply_markup=markup,
                ),
            )
            file_id = sent.voice.file_id if sent.voice else None
            variant = audio.voice.variant
        except (tg.BadRequest, _VoiceForbidden) as exc:
            if isinstance(exc, tg.BadRequest):
                if not is_voice_forbidden(exc):
                    raise
                self._no_voice.add(chat)
            sent = await self._with_cache(
                audio.compat,
                lambda media: self.bot.send_audio(
                    chat,
                    media,
                    duration=round(audio.duration_s),
                    title=audio.title or None,
                    performer=audio.performer or None,
                    caption=caption,
                    reply_parameters=reply,
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
        data = await media.load()
        return await send(InputFile(data, filename=media.ref))


def _reply(message_id: str | None) -> ReplyParameters | None:
    """Reply to a stored message id (maybe ``"a,b"``: the last one); still
    send when that message is gone."""
    if not message_id:
        return None
    last = message_id.split(",")[-1]
    if not last.isdigit():
        return None
    return ReplyParameters(int(last), allow_sending_without_reply=True)
