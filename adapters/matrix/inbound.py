"""Matrix events -> the port's inbound events (pure functions).

Captions: Matrix puts a file's name in ``body``. Since MSC2530 a client that
adds a caption sends ``filename`` too, and ``body`` is then the caption. So
the caption is ``body`` when a distinct ``filename`` is present, or when
``body`` does not look like a file name at all ("Le loup, groupe 1"); else
it is empty.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from adapters.matrix.media import MediaRef
from bot.ports import Attachment, ChatRef, MediaMessage, Sender, TextMessage

_FILENAME = re.compile(r"^[^/\\\n]*\.[A-Za-z0-9]{2,5}$")


def looks_like_filename(text: str) -> bool:
    return bool(_FILENAME.match(text.strip()))


def strip_reply_fallback(body: str) -> str:
    """Drop the ``> <@user> quoted`` lines a reply starts with."""
    lines = body.split("\n")
    if not lines or not lines[0].startswith("> "):
        return body
    i = 0
    while i < len(lines) and lines[i].startswith(">"):
        i += 1
    if i < len(lines) and lines[i] == "":
        i += 1
    return "\n".join(lines[i:])


def _reply_to(content: dict[str, Any]) -> str | None:
    relates = content.get("m.relates_to")
    if isinstance(relates, dict):
        in_reply = relates.get("m.in_reply_to")
        if isinstance(in_reply, dict) and isinstance(in_reply.get("event_id"), str):
            return str(in_reply["event_id"])
    return None


def _received_at(source: dict[str, Any]) -> datetime | None:
    ts = source.get("origin_server_ts")
    return datetime.fromtimestamp(ts / 1000, tz=UTC) if isinstance(ts, int) else None


def _attachment(content: dict[str, Any], msgtype: str) -> tuple[Attachment, str] | None:
    media = MediaRef.from_content(content)
    if media is None:
        return None
    info = content.get("info") if isinstance(content.get("info"), dict) else {}
    assert isinstance(info, dict)
    file_info = content.get("file") if isinstance(content.get("file"), dict) else {}
    assert isinstance(file_info, dict)
    body = str(content.get("body") or "")
    filename_field = content.get("filename")
    if isinstance(filename_field, str) and filename_field:
        filename: str | None = filename_field
        caption = body if body != filename_field else ""
    elif looks_like_filename(body):
        filename, caption = body, ""
    else:
        filename, caption = None, body
    mime = info.get("mimetype") or file_info.get("mimetype")
    size = info.get("size")
    duration = info.get("duration")
    if msgtype == "m.audio":
        voice = "org.matrix.msc3245.voice" in content
        kind: Any = "voice" if voice else "audio"
    else:
        kind = "document"
    attachment = Attachment(
        ref=media.dumps(),
        kind=kind,
        mime=str(mime) if isinstance(mime, str) else None,
        filename=filename,
        size=int(size) if isinstance(size, int) else None,
        duration_s=duration / 1000.0 if isinstance(duration, int | float) else None,
    )
    return attachment, caption.strip()


def message_event(
    source: dict[str, Any], chat: ChatRef, sender: Sender
) -> TextMessage | MediaMessage | None:
    """A ``m.room.message`` (already decrypted) as a port event, or None."""
    if source.get("type") != "m.room.message":
        return None
    content = source.get("content")
    if not isinstance(content, dict):
        return None
    relates = content.get("m.relates_to")
    if isinstance(relates, dict) and relates.get("rel_type") == "m.replace":
        return None  # an edit: the original was handled
    msgtype = content.get("msgtype")
    event_id = str(source.get("event_id", ""))
    reply_to = _reply_to(content)
    received_at = _received_at(source)
    if msgtype in ("m.text", "m.emote"):
        body = content.get("body")
        if not isinstance(body, str):
            return None
        text = strip_reply_fallback(body) if reply_to else body
        return TextMessage(event_id, chat, sender, text.strip(), reply_to, received_at)
    if msgtype in ("m.audio", "m.file"):
        found = _attachment(content, str(msgtype))
        if found is None:
            return None
        attachment, caption = found
        return MediaMessage(event_id, chat, sender, attachment, caption, reply_to, received_at)
    return None  # m.notice (other bots), images, videos, locations...
