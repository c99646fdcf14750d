"""An in-process chat platform: the core's test bench and the demo's stage.

``push`` plays an inbound event as a platform would: handed to the core again
while it fails (``retry``), then confirmed (``confirmed``); every message the
bot sends lands in ``sent``. Failures can be scripted per chat (blocked, 429,
transient), so that the delivery engine meets them without a network.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field

from bot.ports import (
    ROOM_NOT_PRIVATE,
    Activity,
    Capabilities,
    InboundEvent,
    InboundRetry,
    InboundSink,
    OutboundMessage,
    RateLimited,
    Receipt,
    RecipientGone,
    TransientFailure,
    hand_over,
)


@dataclass
class SentMessage:
    message: OutboundMessage
    message_id: str
    uploaded: tuple[str, ...]  # variants uploaded (not reused) for this message
    deleted: bool = False


@dataclass
class MemoryAdapter:
    name: str = "memory"
    caps: Capabilities = field(
        default_factory=lambda: Capabilities(
            global_rate_per_s=1000.0,
            per_chat_interval_s=0.0,
            command_prefixes=("/",),
            invite_link_template="https://t.me/petitesvoix_test_bot?start={code}",
            add_to_group_link=(
                "https://t.me/petitesvoix_test_bot?startgroup=classe&admin=delete_messages"
            ),
            has_buttons=True,
        )
    )
    files: dict[str, bytes] = field(default_factory=dict)
    # Documents sent (slips), by message id.
    documents: dict[str, bytes] = field(default_factory=dict)
    sent: list[SentMessage] = field(default_factory=list)
    joined: list[str] = field(default_factory=list)
    left: list[str] = field(default_factory=list)
    # chat_id -> a function raising the error to play on the next sends
    failures: dict[str, Callable[[], None]] = field(default_factory=dict)
    # After ``send_budget`` sends, further sends hang (a platform gone
    # silent), so a test can stop the service in the middle of a fan-out.
    send_budget: int | None = None
    # Sends started and not answered yet (a test's idle barrier reads it).
    in_flight: int = 0
    # Private chats someone else has joined: what is meant for one family
    # only (``private_to``) is refused there, as the Matrix adapter does.
    crowded: set[str] = field(default_factory=set)
    # A test sets it to play a platform that went away.
    down: bool = False
    # Sends this says yes to wait until ``release()`` (a slow upload), so a
    # test can act while they are under way; ``held`` lists them meanwhile.
    hold: Callable[[OutboundMessage], bool] | None = None
    held: list[OutboundMessage] = field(default_factory=list)
    _released: asyncio.Event = field(default_factory=asyncio.Event)
    # How long connecting takes (a real platform's login is not instant).
    connect_s: float = 0.0
    refused_downloads: int = 0  # asked while not connected
    # Short waits: the tests' clock is not the adapter's.
    retry: InboundRetry = field(default_factory=lambda: InboundRetry(3, 0.01, 0.05))
    # Events the platform was told are handled, in order.
    confirmed: list[InboundEvent] = field(default_factory=list)
    _sink: InboundSink | None = None
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1000))
    _refs: dict[str, str] = field(default_factory=dict)

    __test__ = False  # not a pytest class

    @property
    def platform(self) -> str:
        return self.name

    @property
    def capabilities(self) -> Capabilities:
        return self.caps

    @property
    def connected(self) -> bool:
        return self._sink is not None and not self.down

    async def connect(self, sink: InboundSink) -> None:
        if self.connect_s:
            await asyncio.sleep(self.connect_s)
        self._sink = sink

    async def disconnect(self) -> None:
        self._sink = None

    async def push(self, event: InboundEvent) -> None:
        assert self._sink is not None, "connect() first"
        await hand_over(self._sink, event, self.retry)
        self.confirmed.append(event)

    def release(self) -> None:
        """Let the held sends finish; later sends are no longer held."""
        self.hold = None
        self._released.set()

    def next_message_id(self) -> str:
        return str(next(self._ids))

    async def send(self, message: OutboundMessage) -> Receipt:
        self.in_flight += 1
        try:
            return await self._send(message)
        finally:
            self.in_flight -= 1

    async def _send(self, message: OutboundMessage) -> Receipt:
        if self.send_budget is not None:
            if self.send_budget <= 0:
                await asyncio.Event().wait()  # never answers
            self.send_budget -= 1
        if self.hold is not None and self.hold(message):
            self.held.append(message)
            await self._released.wait()
            self.held.remove(message)
        fail = self.failures.get(message.chat_id)
        if fail is not None:
            fail()
        if message.private_to is not None and message.chat_id in self.crowded:
            raise RecipientGone(ROOM_NOT_PRIVATE, "3 members")
        uploaded: list[str] = []
        refs: dict[str, str] = {}
        if message.audio is not None:
            voice = message.audio.voice
            if voice.cached_ref is None or voice.cached_ref not in self._refs.values():
                ref = f"ref-{len(self._refs) + 1}"
                self._refs[voice.ref] = ref
                uploaded.append(voice.variant)
                refs[voice.variant] = ref
        message_id = self.next_message_id()
        if message.document is not None:
            # Kept as received: the sender removes its temporary file afterwards.
            self.documents[message_id] = message.document.path.read_bytes()
        self.sent.append(SentMessage(message, message_id, tuple(uploaded)))
        return Receipt(message_id, refs)

    async def download(self, ref: str) -> bytes:
        if self._sink is None:
            self.refused_downloads += 1
            raise TransientFailure("not_connected")
        return self.files[ref]

    async def delete(self, chat_id: str, message_id: str) -> bool:
        for sent in self.sent:
            if sent.message.chat_id == chat_id and sent.message_id == message_id:
                sent.deleted = True
                return True
        return False

    async def join(self, chat_id: str) -> None:
        self.joined.append(chat_id)

    async def leave(self, chat_id: str) -> None:
        self.left.append(chat_id)

    async def show_activity(self, chat_id: str, activity: Activity) -> None:
        return None

    # -- what the tests read ------------------------------------------------

    def texts_to(self, chat_id: str) -> list[str]:
        """What was written to the chat, read plain (see ``plain``); a
        recording's caption is read with ``audio_to``."""
        return [
            plain(s.message.text)
            for s in self.sent
            if s.message.chat_id == chat_id and s.message.text and s.message.audio is None
        ]

    def audio_to_any(self) -> list[SentMessage]:
        return [s for s in self.sent if s.message.audio]

    def audio_to(self, chat_id: str) -> list[SentMessage]:
        return [s for s in self.sent if s.message.chat_id == chat_id and s.message.audio]


# French typography on the way out (no-break spaces, ’) read as the plain
# characters people type: what tests and the demo compare; ``sent`` keeps
# each message exactly as the core sent it.
_PLAIN = str.maketrans({"\u202f": " ", "\u00a0": " ", "’": "'"})


def plain(text: str) -> str:
    return text.translate(_PLAIN)


def blocked() -> None:
    raise RecipientGone("blocked")


def rate_limited(seconds: float, chat_id: str | None = None) -> Callable[[], None]:
    def fail() -> None:
        raise RateLimited(seconds, chat_id)

    return fail


def flaky() -> None:
    raise TransientFailure("server_error", "500")
