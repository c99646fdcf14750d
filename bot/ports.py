"""The ports between the core and the chat platforms.

The core only knows these types. Each adapter (``adapters/<platform>``)
implements :class:`ChatAdapter` and turns its platform's updates into the
typed inbound events below, handed to the :data:`InboundSink` it was given.
Platform objects never leave their adapter: everything here is plain data.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from pathlib import Path
from typing import Literal, Protocol, runtime_checkable

log = logging.getLogger("petites_voix.inbound")

# --------------------------------------------------------------------------
# What a platform can do: data the core reads, never `if platform == ...`.
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Capabilities:
    max_text_length: int = 4096
    # Outbound pacing the delivery workers respect.
    global_rate_per_s: float = 25.0
    per_chat_interval_s: float = 1.0  # private chats
    per_group_per_min: int = 20
    max_upload_bytes: int = 50 * 1024 * 1024
    # Largest attachment the bot may fetch; ``None`` = no platform limit.
    max_download_bytes: int | None = None
    command_prefixes: tuple[str, ...] = ("/",)
    can_delete: bool = True
    # e.g. "https://t.me/petitesvoixbot?start={code}"; None when the
    # platform has no invitation links.
    invite_link_template: str | None = None
    # Matrix: a parent may paste a bare invitation code in a direct chat.
    bare_code_in_direct: bool = False
    # Buttons under a message (Telegram inline keyboard).
    has_buttons: bool = False
    # False when the bot cannot see media posted in groups (Telegram privacy
    # mode on): the teacher is told at /classe what to change.
    sees_group_media: bool = True
    # A private chat is a room the bot can leave (Matrix): it leaves the
    # room of a parent it erased. A Telegram private chat cannot be left.
    leaves_direct_chats: bool = False
    # A link that opens the app to add the bot to a group as an administrator
    # (Telegram ``?startgroup=``); the group then sends "/start classe".
    add_to_group_link: str | None = None
    # The platform does not tell a person's language (Matrix): a new family
    # is asked once, after subscribing, which language it reads.
    asks_language: bool = False
    # Ogg/Opus notes shown as voice bubbles (not in an e-mail).
    voice_bubbles: bool = True
    # The platform carries links to the family's page instead of audio (e-mail):
    # one message per delivery or digest, each recording a link.
    links_not_audio: bool = False
    # Such a platform also attaches the recording (MP3) to each message.
    attaches_audio: bool = False
    # Sends the delivery worker keeps under way at once (each also reads and
    # writes the outbox, so a platform with a pool of connections wants more
    # than it has connections).
    sends_at_once: int = 16


# --------------------------------------------------------------------------
# Inbound
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class ChatRef:
    chat_id: str
    is_direct: bool  # a private chat with the bot (not a group/room)
    title: str | None = None
    # A broadcast channel (a Telegram "canal"), where only admins post: it
    # cannot be a class group.
    is_broadcast: bool = False


@dataclass(frozen=True)
class Sender:
    user_id: str  # stable platform identity ("12345", "@lea:example.org")
    display_name: str = ""
    # The language the person's app is set to ("pt", "pt-BR"), when the
    # platform tells (Telegram); offered to a family at subscription.
    language_code: str | None = None


@dataclass(frozen=True)
class Attachment:
    # Opaque to the core; the adapter alone can turn it into bytes with
    # ``ChatAdapter.download``. It must survive a restart (it is stored).
    ref: str
    kind: Literal["voice", "audio", "document"]
    mime: str | None = None
    filename: str | None = None
    size: int | None = None
    duration_s: float | None = None


@dataclass(frozen=True)
class TextMessage:
    message_id: str
    chat: ChatRef
    sender: Sender
    text: str
    reply_to: str | None = None  # platform message id replied to
    received_at: datetime | None = None


@dataclass(frozen=True)
class MediaMessage:
    """A voice note, an audio file or a document (maybe not audio at all)."""

    message_id: str
    chat: ChatRef
    sender: Sender
    attachment: Attachment
    caption: str = ""
    reply_to: str | None = None
    received_at: datetime | None = None


@dataclass(frozen=True)
class BotAddedToChat:
    chat: ChatRef
    by: Sender | None = None


@dataclass(frozen=True)
class BotRemovedFromChat:
    chat: ChatRef


@dataclass(frozen=True)
class ChatMigrated:
    """A Telegram group became a supergroup: same chat, new id."""

    old_chat_id: str
    new_chat_id: str


@dataclass(frozen=True)
class ChatInvite:
    """The bot was invited to a room (Matrix). The core answers with
    ``ChatAdapter.join`` or ``ChatAdapter.leave``."""

    chat: ChatRef
    inviter: Sender


@dataclass(frozen=True)
class NotHandled:
    """A message the sink kept failing on (``hand_over`` gave up): the core
    tells its sender that it was not recorded and should be sent again."""

    event: TextMessage | MediaMessage


@dataclass(frozen=True)
class Unreadable:
    """An encrypted message the bot still cannot decrypt after waiting for
    its key (Matrix): the core asks its sender to post it again."""

    message_id: str
    chat: ChatRef
    sender: Sender


@dataclass(frozen=True)
class ReadReceipt:
    """Someone read a chat up to ``message_id`` (a Matrix ``m.read`` receipt).
    Platforms that tell bots nothing of the kind (Telegram) never send it."""

    chat_id: str
    reader: Sender
    message_id: str


InboundEvent = (
    TextMessage
    | MediaMessage
    | BotAddedToChat
    | BotRemovedFromChat
    | ChatMigrated
    | ChatInvite
    | NotHandled
    | Unreadable
    | ReadReceipt
)

# The adapter awaits the sink: when it returns, the event is handled or
# durably stored, and only then may the adapter confirm it to its platform
# (Telegram offset, Matrix sync token). When it raises, nothing is stored:
# the adapter must not confirm, and tries again (see ``hand_over``).
InboundSink = Callable[[InboundEvent], Awaitable[None]]


@dataclass(frozen=True)
class InboundRetry:
    """How often an adapter hands again an event its sink failed on (a
    database busy for a moment, a full disk) before giving up."""

    attempts: int = 5
    first_delay_s: float = 1.0
    max_delay_s: float = 30.0

    def delay(self, failures: int) -> float:
        return float(min(self.max_delay_s, self.first_delay_s * 2 ** (failures - 1)))


async def hand_over(sink: InboundSink, event: InboundEvent, retry: InboundRetry) -> bool:
    """Hand ``event`` to ``sink`` until it takes it, with backoff. After the
    last try a message's sender is told (``NotHandled``) and False is
    returned: the adapter then confirms the event, which is given up.
    Cancellation (a stop) passes through: the event stays unconfirmed."""
    for failures in range(1, retry.attempts + 1):
        try:
            await sink(event)
            return True
        except Exception:
            log.warning(
                "inbound event not handled (try %d of %d)", failures, retry.attempts, exc_info=True
            )
            if failures < retry.attempts:
                await asyncio.sleep(retry.delay(failures))
    if isinstance(event, TextMessage | MediaMessage):
        try:
            await sink(NotHandled(event))
        except Exception:
            log.exception("could not tell the sender that a message was lost")
    return False


# --------------------------------------------------------------------------
# Outbound
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class MediaFile:
    # The media store's reference (the content's hash): also the file's name.
    ref: str
    mime: str
    size: int
    # Key of this file in the media cache ("voice", "compat", ...).
    variant: str
    # The bytes, read from the media store only when an upload needs them
    # (the store may be a bucket on another machine: no local path here).
    load: Callable[[], Awaitable[bytes]]
    # A platform reference from an earlier upload (Telegram file_id,
    # Matrix mxc:// URI) the adapter may reuse instead of uploading.
    cached_ref: str | None = None


@dataclass(frozen=True)
class OutboundAudio:
    voice: MediaFile  # Ogg/Opus, shown as a voice note
    compat: MediaFile  # MP3/M4A, for where a voice note is refused
    duration_s: float
    title: str
    waveform: tuple[int, ...] = ()  # 0..1023 amplitudes, ~100 values
    performer: str = ""


@dataclass(frozen=True)
class OutboundDocument:
    path: Path
    filename: str
    mime: str


@dataclass(frozen=True)
class Choice:
    """A button under a message; pressing it sends ``command`` as if typed,
    or, with ``url``, opens that link."""

    label: str
    command: str
    url: str | None = None


@dataclass(frozen=True)
class Link:
    """A link the message points to (a recording on the family's page)."""

    label: str
    url: str
    detail: str = ""  # e.g. the duration, shown after the label


@dataclass(frozen=True)
class OutboundMessage:
    chat_id: str
    text: str = ""
    audio: OutboundAudio | None = None
    document: OutboundDocument | None = None
    choices: tuple[Choice, ...] = ()
    # Where a platform has no buttons and lists the choices as text: their
    # heading, in the reader's language.
    choices_prompt: str = "Répondez :"
    reply_to: str | None = None
    # Same key, same message: a platform with idempotent sends (Matrix
    # txn ids, e-mail Message-ID) uses it so that a re-send after a crash is
    # recognisable as the same message.
    idempotency_key: str | None = None
    # The one person (a parent's user id) who may read this chat besides the
    # bot: what goes to a family. Where a private chat can gain members (a
    # Matrix room), the adapter checks it at send time and raises
    # RecipientGone("room_not_private") if anyone else is joined or invited.
    private_to: str | None = None
    # For platforms with ``links_not_audio`` (e-mail): a subject line, the
    # links shown after the text, where the family changes its settings, and
    # the one-click unsubscribe address (RFC 8058).
    subject: str = ""
    links: tuple[Link, ...] = ()
    settings_url: str | None = None
    unsubscribe_url: str | None = None
    # Those two links' words, and the language the message is written in
    # (the e-mail's ``lang``; ``right_to_left`` its ``dir``).
    settings_label: str = "Vos réglages (fréquence, pause)"
    unsubscribe_label: str = "Ne plus recevoir ces messages"
    language: str = "fr"
    right_to_left: bool = False


@dataclass(frozen=True)
class Receipt:
    message_id: str
    # Platform references worth caching, by MediaFile.variant. Empty when
    # nothing can be reused (e.g. an encrypted Matrix room).
    media_refs: dict[str, str] = field(default_factory=dict)


class Activity(Enum):
    RECORDING_VOICE = "record_voice"
    UPLOADING_VOICE = "upload_voice"
    UPLOADING_DOCUMENT = "upload_document"
    TYPING = "typing"


# --------------------------------------------------------------------------
# Errors an adapter raises from ``send``/``download``
# --------------------------------------------------------------------------


class DeliveryError(Exception):
    """Base class. ``reason`` is a short, stable, log-safe code."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


class RateLimited(DeliveryError):
    """429: wait ``retry_after`` seconds. ``chat_id`` None = the whole bot."""

    def __init__(self, retry_after: float, chat_id: str | None = None) -> None:
        super().__init__("rate_limited", f"retry after {retry_after:.1f}s")
        self.retry_after = retry_after
        self.chat_id = chat_id


class RecipientGone(DeliveryError):
    """The recipient can no longer be reached: blocked the bot (``blocked``),
    chat deleted (``chat_not_found``), bot kicked (``kicked``), or a
    family's chat that someone else can read now (``room_not_private``)."""


ROOM_NOT_PRIVATE = "room_not_private"


class TransientFailure(DeliveryError):
    """Network trouble or a 5xx: worth trying again later."""


class PermanentFailure(DeliveryError):
    """The platform will never accept this message as it is."""


class PlatformUnavailable(DeliveryError):
    """The platform's server cannot be reached at all (an SMTP relay down):
    everything for this platform waits ``retry_after`` seconds; other
    platforms go on."""

    def __init__(self, retry_after: float, detail: str = "") -> None:
        super().__init__("unreachable", detail)
        self.retry_after = retry_after


class AttachmentUnavailable(DeliveryError):
    """``download`` cannot fetch it (too big for the platform, expired...)."""


@dataclass(frozen=True)
class CommandMenu:
    """French command menus an adapter may register with its platform."""

    private: tuple[tuple[str, str], ...]
    group: tuple[tuple[str, str], ...]
    # The private menu explained in the other languages of the families, by
    # language code (the command names stay French); shown by a platform to
    # people whose app is in that language, where it can (Telegram).
    private_translated: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = ()


@dataclass(frozen=True)
class BotProfile:
    """How the bot presents itself, in French, set by the adapter at start
    where its platform allows."""

    name: str  # display name (Matrix)
    # Telegram: what a person reads in an empty chat before pressing Start.
    description: str
    # Telegram: the bot's profile page and shared links (120 characters at most).
    short_description: str


@runtime_checkable
class ChatAdapter(Protocol):
    @property
    def platform(self) -> str:
        """Short stable name: "telegram", "matrix", "test"."""
        ...

    @property
    def capabilities(self) -> Capabilities: ...

    async def connect(self, sink: InboundSink) -> None:
        """Log in and start receiving; returns once events flow to ``sink``."""
        ...

    async def send(self, message: OutboundMessage) -> Receipt: ...

    async def download(self, ref: str) -> bytes: ...

    async def delete(self, chat_id: str, message_id: str) -> bool:
        """Remove a sent message where the platform still allows it."""
        ...

    async def join(self, chat_id: str) -> None: ...

    async def leave(self, chat_id: str) -> None: ...

    async def show_activity(self, chat_id: str, activity: Activity) -> None: ...

    async def disconnect(self) -> None: ...


@runtime_checkable
class ReportsConnection(Protocol):
    """An adapter that knows whether it is connected right now (for
    /healthz and the metrics); one that does not is trusted once started."""

    @property
    def connected(self) -> bool: ...
