"""nio responses and exceptions -> the port's delivery errors."""

from __future__ import annotations

import asyncio
from typing import Any, NoReturn

import aiohttp
from nio import ErrorResponse

from bot.ports import (
    DeliveryError,
    PermanentFailure,
    RateLimited,
    RecipientGone,
    TransientFailure,
)

NETWORK_ERRORS: tuple[type[BaseException], ...] = (
    aiohttp.ClientError,
    asyncio.TimeoutError,
    TimeoutError,
    ConnectionError,
)


def http_status(resp: Any) -> int:
    transport = getattr(resp, "transport_response", None)
    status = getattr(transport, "status", 0)
    return int(status) if isinstance(status, int) else 0


def raise_for(resp: ErrorResponse, *, in_room: bool) -> NoReturn:
    """Raise the delivery error matching a failed request about one room.

    ``in_room``: whether the bot believed it was a member of the room; a
    refusal then means it was removed ("kicked"), else the room is unknown.
    """
    code = str(resp.status_code or "")
    status = http_status(resp)
    if code == "M_LIMIT_EXCEEDED" or status == 429:
        retry_ms = getattr(resp, "retry_after_ms", None) or 5000
        # Synapse limits the sending account, not a room: the whole bot waits.
        raise RateLimited(retry_ms / 1000.0, None)
    if code in ("M_FORBIDDEN", "M_NOT_FOUND") or status in (403, 404):
        raise RecipientGone("kicked" if in_room else "chat_not_found", code)
    if code == "M_TOO_LARGE" or status == 413:
        raise PermanentFailure("too_large", code)
    if status >= 500 or status == 0:
        raise TransientFailure("server_error", f"{status} {code}")
    raise PermanentFailure("refused", f"{status} {code}")


def as_delivery_error(exc: BaseException) -> DeliveryError:
    if isinstance(exc, DeliveryError):
        return exc
    return TransientFailure("network", type(exc).__name__)
