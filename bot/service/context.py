"""What every service needs, passed explicitly (no globals)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from bot.audio import AudioPipeline
from bot.clock import Clock
from bot.config import Settings
from bot.i18n import _, language
from bot.media_store import MediaMissing, MediaStore
from bot.metrics import Metrics
from bot.ports import (
    ChatAdapter,
    Choice,
    MediaFile,
    OutboundDocument,
    OutboundMessage,
    RateLimited,
    Receipt,
)
from bot.service.audience import Audience
from bot.service.links import FamilyLinks
from bot.typography import typeset_message
from storage.repos import Repositories

log = logging.getLogger("petites_voix")

REPLY_TRIES = 3
MAX_REPLY_WAIT_S = 30.0


@dataclass
class Wakeups:
    """Events the long-running loops wait on, so work starts at once."""

    publisher: asyncio.Event = field(default_factory=asyncio.Event)
    delivery: dict[str, asyncio.Event] = field(default_factory=dict)
    # The loop that writes and sends teacher notices (bot/service/retention.py).
    notices: asyncio.Event = field(default_factory=asyncio.Event)

    # With several processes on one database: tells the others that
    # deliveries are due (bot/service/delivery_news.py).
    tell_others: Callable[[], None] | None = None

    def deliveries(self, platform: str | None = None) -> None:
        self.deliveries_here(platform)
        if self.tell_others is not None:
            self.tell_others()

    def deliveries_here(self, platform: str | None = None) -> None:
        for name, event in self.delivery.items():
            if platform is None or name == platform:
                event.set()


class ReplyPacing:
    """Answers to one chat keep the platform's interval between messages, so
    that a burst of answers (a welcome, then an invitation) is not refused."""

    def __init__(self) -> None:
        self._next: dict[tuple[str, str], float] = {}

    async def turn(self, platform: str, chat_id: str, interval: float) -> None:
        loop = asyncio.get_running_loop()
        key = (platform, chat_id)
        now = loop.time()
        ready = max(now, self._next.get(key, 0.0))
        self._next[key] = ready + interval
        if ready > now:
            await asyncio.sleep(ready - now)
        if len(self._next) > 10_000:
            self._next = {k: t for k, t in self._next.items() if t > now}


@dataclass
class Context:
    settings: Settings
    repos: Repositories
    media: MediaStore
    pipeline: AudioPipeline
    clock: Clock
    adapters: Mapping[str, ChatAdapter]
    # Who may hear what: the consent rule, asked at every exit.
    audience: Audience
    wake: Wakeups = field(default_factory=Wakeups)
    pacing: ReplyPacing = field(default_factory=ReplyPacing)
    # Prometheus figures of this service (its own registry).
    metrics: Metrics = field(default_factory=Metrics)
    # One build at a time per compiled recording (bot/service/mixing.py).
    mix_locks: dict[str, asyncio.Lock] = field(default_factory=dict)
    # Links to families' pages and e-mail actions; None without [web].
    links: FamilyLinks | None = None
    # What this process holds among the processes sharing the database:
    # platforms whose account it runs, and DUTIES (bot/leadership.py).
    held: set[str] = field(default_factory=set)
    # Platforms whose account another process runs now (or may: while this
    # one has not taken it).
    elsewhere: set[str] = field(default_factory=set)
    # This process, as other processes and the operator see it: host:pid.
    process: str = ""

    def own_adapters(self) -> dict[str, ChatAdapter]:
        """The adapters whose account no other process runs now."""
        return {p: a for p, a in self.adapters.items() if p not in self.elsewhere}

    async def close(self) -> None:
        await self.repos.db.close()
        await self.media.close()

    async def say(
        self,
        platform: str,
        chat_id: str,
        text: str,
        *,
        reply_to: str | None = None,
        choices: tuple[Choice, ...] = (),
        document: OutboundDocument | None = None,
        idempotency_key: str | None = None,
    ) -> Receipt | None:
        """Answer someone. A failure to answer is logged, never raised: the
        state change that led to it is already stored."""
        adapter = self.adapters.get(platform)
        if adapter is None:
            return None
        limit = adapter.capabilities.max_text_length
        if len(text) > limit:
            text = text[: limit - 1] + "…"
        message = OutboundMessage(
            chat_id=chat_id,
            text=text,
            reply_to=reply_to,
            choices=choices,
            choices_prompt=_("Répondez :"),
            document=document,
            idempotency_key=idempotency_key,
        )
        if not adapter.capabilities.links_not_audio:  # a chat, not an e-mail
            message = typeset_message(message, language())
        for _try in range(REPLY_TRIES):
            await self.pacing.turn(platform, chat_id, adapter.capabilities.per_chat_interval_s)
            try:
                return await adapter.send(message)
            except RateLimited as exc:
                if exc.retry_after > MAX_REPLY_WAIT_S:
                    break
                await asyncio.sleep(exc.retry_after)
            except Exception as exc:  # the platform's trouble, not ours to crash on
                log.warning("reply to a %s chat failed: %s", platform, type(exc).__name__)
                return None
        log.warning("reply to a %s chat given up after rate limits", platform)
        return None

    async def media_file(self, platform: str, sha: str, mime: str, variant: str) -> MediaFile:
        """A stored file as an adapter sends it, with the platform's cached
        reference from an earlier upload when there is one."""
        cached = await self.repos.media_cache.get(sha, platform)
        return await self.stored_file(sha, mime, variant, cached)

    async def stored_file(
        self, sha: str, mime: str, variant: str, cached_ref: str | None
    ) -> MediaFile:
        """The same, when the cached reference was read already. Raises
        :class:`MediaMissing` when the store has no such file."""
        size = await self.media.size(sha)
        if size is None:
            raise MediaMissing(sha)
        media = self.media

        async def load() -> bytes:
            return await media.read(sha)

        return MediaFile(
            ref=sha, mime=mime, size=size, variant=variant, load=load, cached_ref=cached_ref
        )
