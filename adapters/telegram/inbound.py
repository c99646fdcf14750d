"""Telegram Updates -> the port's inbound events (pure translation)."""

from __future__ import annotations

import datetime as dtm
from typing import Literal

from telegram import (
    Audio,
    Chat,
    ChatMember,
    ChatMemberRestricted,
    Document,
    Message,
    Update,
    User,
    Voice,
)

from bot.ports import (
    Attachment,
    BotAddedToChat,
    BotRemovedFromChat,
    ChatMigrated,
    ChatRef,
    InboundEvent,
    MediaMessage,
    Sender,
    TextMessage,
)

_PRESENT = frozenset({ChatMember.MEMBER, ChatMember.ADMINISTRATOR, ChatMember.OWNER})


def chat_ref(chat: Chat) -> ChatRef:
    is_direct = chat.type == Chat.PRIVATE
    return ChatRef(
        chat_id=str(chat.id),
        is_direct=is_direct,
        title=None if is_direct else chat.title,
        is_broadcast=chat.type == Chat.CHANNEL,
    )


def sender(user: User) -> Sender:
    return Sender(
        user_id=str(user.id), display_name=user.full_name, language_code=user.language_code
    )


def _duration(media: Voice | Audio) -> float | None:
    # PTB 22 keeps durations as timedelta and warns when read as int.
    value = getattr(media, "_duration", None)
    return value.total_seconds() if isinstance(value, dtm.timedelta) else None


def attachment(message: Message) -> Attachment | None:
    kind: Literal["voice", "audio", "document"]
    media: Voice | Audio | Document
    if message.voice is not None:
        kind, media = "voice", message.voice
    elif message.audio is not None:
        kind, media = "audio", message.audio
    elif message.document is not None:
        kind, media = "document", message.document
    else:
        return None
    return Attachment(
        ref=media.file_id,
        kind=kind,
        mime=media.mime_type,
        filename=None if isinstance(media, Voice) else media.file_name,
        size=media.file_size,
        duration_s=None if isinstance(media, Document) else _duration(media),
    )


def _is_member(member: ChatMember) -> bool:
    if isinstance(member, ChatMemberRestricted):
        return member.is_member
    return member.status in _PRESENT


def _from_message(message: Message) -> InboundEvent | None:
    if message.migrate_to_chat_id is not None:
        return ChatMigrated(str(message.chat.id), str(message.migrate_to_chat_id))
    user = message.from_user
    if user is None or user.is_bot:
        return None
    reply_to = (
        str(message.reply_to_message.message_id) if message.reply_to_message is not None else None
    )
    if message.text is not None:
        return TextMessage(
            message_id=str(message.message_id),
            chat=chat_ref(message.chat),
            sender=sender(user),
            text=message.text,
            reply_to=reply_to,
            received_at=message.date,
        )
    found = attachment(message)
    if found is None:
        return None
    return MediaMessage(
        message_id=str(message.message_id),
        chat=chat_ref(message.chat),
        sender=sender(user),
        attachment=found,
        caption=message.caption or "",
        reply_to=reply_to,
        received_at=message.date,
    )


def translate(update: Update) -> InboundEvent | None:
    """The event an update means for the core, or None when it means nothing.

    A callback query becomes the TextMessage its button stands for: its
    ``message_id`` is ``cb:<query id>`` and ``reply_to`` the message that
    carried the button.
    """
    if update.message is not None:
        return _from_message(update.message)
    if update.my_chat_member is not None:
        change = update.my_chat_member
        was_in = _is_member(change.old_chat_member)
        is_in = _is_member(change.new_chat_member)
        if is_in and not was_in:
            return BotAddedToChat(chat_ref(change.chat), by=sender(change.from_user))
        if was_in and not is_in:
            return BotRemovedFromChat(chat_ref(change.chat))
        return None
    query = update.callback_query
    if query is not None and query.data and query.message is not None:
        return TextMessage(
            message_id=f"cb:{query.id}",
            chat=chat_ref(query.message.chat),
            sender=sender(query.from_user),
            text=query.data,
            reply_to=str(query.message.message_id),
            received_at=dtm.datetime.now(dtm.UTC),
        )
    return None
