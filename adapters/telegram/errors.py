"""telegram.error.* -> the port's delivery errors."""

from __future__ import annotations

import datetime as dtm

from telegram import error as tg

from bot.ports import (
    DeliveryError,
    PermanentFailure,
    RateLimited,
    RecipientGone,
    TransientFailure,
)

# Answers meaning "this file_id cannot be sent (any more)": upload the bytes again.
_REFUSED_FILE_ID = (
    "wrong file identifier",
    "wrong remote file identifier",
    "can't use file of type",
    "file reference",
    "wrong type of the web page content",
    "failed to get http url content",
)


def retry_after_seconds(exc: tg.RetryAfter) -> float:
    """The wait a 429 asks for, without PTB's int/timedelta deprecation dance."""
    value = getattr(exc, "_retry_after", None)
    if isinstance(value, dtm.timedelta):
        return value.total_seconds()
    return 1.0


def is_refused_file_id(exc: BaseException) -> bool:
    return isinstance(exc, tg.BadRequest) and any(
        marker in exc.message.lower() for marker in _REFUSED_FILE_ID
    )


def is_voice_forbidden(exc: BaseException) -> bool:
    return isinstance(exc, tg.BadRequest) and "VOICE_MESSAGES_FORBIDDEN" in exc.message.upper()


def is_too_big(exc: BaseException) -> bool:
    return isinstance(exc, tg.BadRequest) and "file is too big" in exc.message.lower()


def map_error(exc: tg.TelegramError, chat_id: str | None = None) -> DeliveryError:
    """The port error for a failed Bot API call addressed to ``chat_id``."""
    message = exc.message
    lowered = message.lower()
    if isinstance(exc, tg.RetryAfter):
        return RateLimited(retry_after_seconds(exc), chat_id)
    if isinstance(exc, tg.ChatMigrated):
        # The core moves the class channel to the new id (ChatMigrated event)
        # and may send again there.
        return RecipientGone("migrated", str(exc.new_chat_id))
    if isinstance(exc, tg.Forbidden):
        if "blocked" in lowered:
            return RecipientGone("blocked")
        if "kicked" in lowered or "not a member" in lowered:
            return RecipientGone("kicked")
        if "deactivated" in lowered:
            return RecipientGone("deactivated")
        return RecipientGone("forbidden", message)
    if isinstance(exc, tg.BadRequest):
        if "chat not found" in lowered or "user not found" in lowered:
            return RecipientGone("chat_not_found")
        if "upgraded to a supergroup" in lowered:
            return RecipientGone("migrated")
        if "not enough rights" in lowered or "have no rights" in lowered:
            return PermanentFailure("no_rights", message)
        return PermanentFailure("bad_request", message)
    if isinstance(exc, tg.InvalidToken):
        return PermanentFailure("invalid_token")
    if isinstance(exc, tg.TimedOut):
        return TransientFailure("timeout", message)
    if isinstance(exc, tg.NetworkError):
        return TransientFailure("network", message)
    if isinstance(exc, tg.Conflict):
        return TransientFailure("conflict", message)
    return TransientFailure("telegram", message)
