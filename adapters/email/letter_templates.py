"""A recording's e-mail to many families, turned into MIME once.

Every family of a fan-out gets the same words (subject, text, labels, in
one language); only its own links, its address and the Message-ID of its
delivery differ. The parts they share are encoded once (headers folded,
bodies in quoted-printable) and kept as a template; each family's e-mail is
that template with its own lines encoded and put in place. Quoted-printable
encodes line by line, so the family's lines encoded on their own give the
same bytes as the whole body encoded at once.

What this fast path does not know (an attachment, an address or a link
needing more than plain ASCII) answers None: the caller builds that e-mail
with :func:`adapters.email.mime.build`, as before.
"""

from __future__ import annotations

import html
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from email import policy
from email.quoprimime import body_encode
from email.utils import format_datetime

from adapters.email import mime
from bot.ports import Link, OutboundMessage

# Templates kept: one per recording and language of the fan-outs under way.
KEPT = 64
CRLF = "\r\n"
MAX_LINE = 78  # as policy.SMTP folds
MAX_WORD = 900  # a header line may not pass 998 characters (RFC 5322)
# An address or link written as it is into a header: printable ASCII, no space.
_PLAIN = re.compile(r"[\x21-\x7e]+\Z")
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_ADDRESS = re.compile(rf"{_ATEXT}(?:\.{_ATEXT})*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\Z")
# Where a family's own value goes in the rendered bodies (never in a text).
_SLOT = "\x00{}\x00"


@dataclass(frozen=True)
class Composed:
    data: bytes
    message_id: str


@dataclass(frozen=True)
class _Body:
    """A body as encoded pieces: shared ones ready (str), a family's lines
    as (template line, how its values are written)."""

    pieces: tuple[str | tuple[str, Callable[[str], str]], ...]

    def fill(self, values: tuple[str, ...]) -> str:
        out = []
        for piece in self.pieces:
            if isinstance(piece, str):
                out.append(piece)
                continue
            line, write = piece
            for n, value in enumerate(values):
                line = line.replace(_SLOT.format(n), write(value))
            out.append(_encode(line))
        return "".join(out)


@dataclass(frozen=True)
class _Template:
    head: str  # Subject, From, Auto-Submitted, List-Unsubscribe-Post
    tail: str  # MIME-Version, Content-Type: the start of the multipart
    boundary: str
    plain: _Body
    html: _Body


class LetterTemplates:
    def __init__(self, sender: str) -> None:
        self.sender = sender
        self.domain = mime.sender_domain(sender)
        self._kept: dict[tuple[object, ...], _Template] = {}

    def compose(self, message: OutboundMessage, now: datetime) -> Composed | None:
        """The e-mail's bytes, or None when it must be built in full."""
        if message.audio is not None or message.document is not None:
            return None
        values = _family_values(message)
        message_id = mime.message_id(message.idempotency_key, self.domain)
        unsubscribe = f"<{message.unsubscribe_url}>" if message.unsubscribe_url else None
        if (
            not _ADDRESS.match(message.chat_id)
            or not _PLAIN.match(message_id)
            or (unsubscribe is not None and not _PLAIN.match(unsubscribe))
            or max(len(message.chat_id), len(message_id), len(unsubscribe or "")) > MAX_WORD
            or any("\x00" in v for v in values)
        ):
            return None
        template = self._template(message)
        if template is None:
            return None
        own = [
            _header("To", message.chat_id),
            f"Date: {format_datetime(now)}{CRLF}",
            _header("Message-ID", message_id),
        ]
        if unsubscribe is not None:
            own.append(_header("List-Unsubscribe", unsubscribe))
        part = f"{CRLF}--{template.boundary}{CRLF}"
        text = "".join(
            (
                template.head,
                *own,
                template.tail,
                _part_head("plain"),
                template.plain.fill(values),
                part,
                _part_head("html"),
                template.html.fill(values),
                f"{CRLF}--{template.boundary}--{CRLF}",
            )
        )
        return Composed(text.encode("ascii"), message_id)

    def _template(self, message: OutboundMessage) -> _Template | None:
        key = _shared_key(message)
        template = self._kept.get(key)
        if template is None:
            template = self._make(message)
            if template is None:
                return None
            if len(self._kept) >= KEPT:
                self._kept.clear()
            self._kept[key] = template
        return template

    def _make(self, message: OutboundMessage) -> _Template | None:
        slots = _with_slots(message)
        count = len(_family_values(message))
        plain, page = mime.plain_text(slots), mime.html_text(slots)
        if plain.count("\x00") != 2 * count or page.count("\x00") != 2 * count:
            return None  # a text with a NUL of its own: built in full
        boundary = f"==============={secrets.randbelow(10**19):019d}=="
        head = [_folded("Subject", mime.subject(message)), _folded("From", self.sender)]
        head.append(f"Auto-Submitted: auto-generated{CRLF}")
        if message.unsubscribe_url:
            head.append(f"List-Unsubscribe-Post: List-Unsubscribe=One-Click{CRLF}")
        tail = (
            f"MIME-Version: 1.0{CRLF}"
            f'Content-Type: multipart/alternative;{CRLF} boundary="{boundary}"{CRLF}'
            f"{CRLF}--{boundary}{CRLF}"
        )
        return _Template(
            "".join(head), tail, boundary, _body(plain, str), _body(page, _html_attribute)
        )


def _family_values(message: OutboundMessage) -> tuple[str, ...]:
    """A family's own values, in slot order: its links, then the footer's."""
    values = [link.url for link in message.links if link.url]
    values += [url for url in (message.settings_url, message.unsubscribe_url) if url]
    return tuple(values)


def _with_slots(message: OutboundMessage) -> OutboundMessage:
    """The message with a slot where each of the family's values goes."""
    n = iter(range(len(_family_values(message))))
    links = tuple(
        Link(link.label, _SLOT.format(next(n)), link.detail) if link.url else link
        for link in message.links
    )
    settings = _SLOT.format(next(n)) if message.settings_url else None
    unsubscribe = _SLOT.format(next(n)) if message.unsubscribe_url else None
    return replace(
        message,
        chat_id="",
        idempotency_key=None,
        links=links,
        settings_url=settings,
        unsubscribe_url=unsubscribe,
    )


def _shared_key(message: OutboundMessage) -> tuple[object, ...]:
    """What every family of one letter shares (the words, the language)."""
    return (
        message.subject,
        message.text,
        tuple((link.label, link.detail, bool(link.url)) for link in message.links),
        message.settings_url is not None,
        message.unsubscribe_url is not None,
        message.settings_label,
        message.unsubscribe_label,
        message.language,
        message.right_to_left,
    )


def _html_attribute(value: str) -> str:
    return html.escape(value)


def _body(rendered: str, write: Callable[[str], str]) -> _Body:
    """Lines without a slot, encoded now, together; each line with slots
    kept to be filled and encoded per family."""
    lines = rendered.encode("utf-8").splitlines()
    pieces: list[str | tuple[str, Callable[[str], str]]] = []
    shared: list[bytes] = []
    for line in lines:
        if b"\x00" not in line:
            shared.append(line)
            continue
        if shared:
            pieces.append(_encode_bytes(b"\n".join(shared) + b"\n"))
            shared = []
        pieces.append((line.decode("utf-8") + "\n", write))
    if shared:
        pieces.append(_encode_bytes(b"\n".join(shared) + b"\n"))
    return _Body(tuple(pieces))


def _encode(text: str) -> str:
    """Quoted-printable (UTF-8), as ``email`` encodes a body."""
    return _encode_bytes(b"\n".join(text.encode("utf-8").splitlines()) + b"\n")


def _encode_bytes(data: bytes) -> str:
    return body_encode(data.decode("latin-1"), MAX_LINE, eol=CRLF)


def _folded(name: str, value: str) -> str:
    """A shared header, folded and encoded as the ``email`` package does."""
    folded = policy.SMTP.fold_binary(*policy.SMTP.header_store_parse(name, value))
    return folded.decode("ascii")


def _header(name: str, value: str) -> str:
    """A header whose value is one printable word (address, link, id): on
    the name's line when it fits, else alone on the next."""
    if len(name) + 2 + len(value) <= MAX_LINE:
        return f"{name}: {value}{CRLF}"
    return f"{name}:{CRLF} {value}{CRLF}"


def _part_head(subtype: str) -> str:
    return (
        f'Content-Type: text/{subtype}; charset="utf-8"{CRLF}'
        f"Content-Transfer-Encoding: quoted-printable{CRLF}{CRLF}"
    )
