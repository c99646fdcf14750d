"""What every service needs, passed explicitly (no globals)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field

from bot.audio import AudioPipeline
from bot.clock import Clock
from bot.config import Settings
from bot.ports import ChatAdapter, Choice, OutboundDocument, OutboundMessage, Receipt
from storage.media import MediaStore
from storage.repos import Repositories

log = logging.getLogger("petites_voix")


@dataclass
class Wakeups:
    """Events the long-running loops wait on, so work starts at once."""

    publisher: asyncio.Event = field(default_factory=asyncio.Event)
    delivery: dict[str, asyncio.Event] = field(default_factory=dict)

    def deliveries(self, platform: str | None = None) -> None:
        for name, event in self.delivery.items():
            if platform is None or name == platform:
                event.set()


@dataclass
class Context:
    settings: Settings
    repos: Repositories
    media: MediaStore
    pipeline: AudioPipeline
    clock: Clock
    adapters: Mapping[str, ChatAdapter]
    wake: Wakeups = field(default_factory=Wakeups)

    async def say(
        self,
        platform: str,
        chat_id: str,
        text: str,
        *,
        reply_to: str | None = None,
        choices: tuple[Choice, ...] = (),
        document: OutboundDocument | None = None,
    ) -> Receipt | None:
        """Answer someone. A failure to answer is logged, never raised: the
        state change that led to it is already stored."""
        adapter = self.adapters.get(platform)
        if adapter is None:
            return None
        limit = adapter.capabilities.max_text_length
        if len(text) > limit:
            text = text[: limit - 1] + "…"
        try:
            return await adapter.send(
                OutboundMessage(
                    chat_id=chat_id,
                    text=text,
                    reply_to=reply_to,
                    choices=choices,
                    document=document,
                )
            )
        except Exception as exc:  # the platform's trouble, not ours to crash on
            log.warning("reply to a %s chat failed: %s", platform, type(exc).__name__)
            return None
