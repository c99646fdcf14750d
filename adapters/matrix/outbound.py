"""The content of outgoing events (pure functions)."""

from __future__ import annotations

import hashlib
import re
from typing import Any

from bot.ports import Choice, OutboundAudio, OutboundMessage

_SAFE_TXN = re.compile(r"^[A-Za-z0-9._~-]{1,200}$")


def txn_id(idempotency_key: str | None, part: int) -> str | None:
    """The Matrix transaction id of part ``part`` of a message.

    The same key gives the same ids, so a re-send after a crash returns the
    event already sent (Synapse remembers a device's transaction ids for a
    while) instead of posting it twice.
    """
    if idempotency_key is None:
        return None
    key = idempotency_key
    if not _SAFE_TXN.match(key):
        key = "h" + hashlib.sha256(key.encode()).hexdigest()[:40]
    return key if part == 0 else f"{key}.{part}"


def matrix_command(command: str) -> str:
    """Commands are typed with ``!`` on Matrix (Element eats ``/words``)."""
    return "!" + command[1:] if command.startswith("/") else command


def render_text(text: str, choices: tuple[Choice, ...], prompt: str = "Répondez :") -> str:
    if not choices:
        return text
    lines = [
        f"• {c.label} : {c.url}" if c.url else f"• {matrix_command(c.command)}  ({c.label})"
        for c in choices
    ]
    block = prompt + "\n" + "\n".join(lines)
    return f"{text}\n\n{block}" if text else block


def with_reply(content: dict[str, Any], reply_to: str | None) -> dict[str, Any]:
    if reply_to:
        content["m.relates_to"] = {"m.in_reply_to": {"event_id": reply_to}}
    return content


def text_content(message: OutboundMessage) -> dict[str, Any]:
    return {
        "msgtype": "m.text",
        "body": render_text(message.text, message.choices, message.choices_prompt),
    }


def _filename(title: str, suffix: str) -> str:
    stem = " ".join(re.sub(r"[^\w\-' ]+", " ", title).split()) or "enregistrement"
    return f"{stem[:80]}{suffix}"


def audio_content(
    audio: OutboundAudio, caption: str, size: int, media_fields: dict[str, Any]
) -> dict[str, Any]:
    """A voice message as Element draws it: a voice bubble with a waveform.

    ``body`` is the caption (MSC2530, with ``filename``): the message text
    when there is one, else the recording's title, shown under the bubble.
    """
    voice = audio.voice
    filename = _filename(audio.title, ".ogg")
    duration_ms = round(audio.duration_s * 1000)
    return {
        "msgtype": "m.audio",
        "body": caption or audio.title or filename,
        "filename": filename,
        "info": {"mimetype": voice.mime, "size": size, "duration": duration_ms},
        "org.matrix.msc1767.audio": {
            "duration": duration_ms,
            "waveform": [max(0, min(1024, int(v))) for v in audio.waveform],
        },
        "org.matrix.msc3245.voice": {},
        **media_fields,
    }


def document_content(
    filename: str, mime: str, size: int, caption: str, media_fields: dict[str, Any]
) -> dict[str, Any]:
    return {
        "msgtype": "m.file",
        "body": caption or filename,
        "filename": filename,
        "info": {"mimetype": mime, "size": size},
        **media_fields,
    }
