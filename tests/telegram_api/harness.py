"""Run a TelegramAdapter against the fake server and collect what it hands the core."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from adapters.telegram import TelegramAdapter
from bot.ports import InboundEvent
from tests.telegram_api.state import FakeTelegram


class Inbox:
    """The InboundSink the adapter is given: a queue of events."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[InboundEvent] = asyncio.Queue()

    async def __call__(self, event: InboundEvent) -> None:
        await self.queue.put(event)

    async def next(self, wait_s: float = 5.0) -> InboundEvent:
        return await asyncio.wait_for(self.queue.get(), wait_s)

    def empty(self) -> bool:
        return self.queue.empty()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@asynccontextmanager
async def connected(
    fake: FakeTelegram, **kwargs: Any
) -> AsyncIterator[tuple[TelegramAdapter, Inbox]]:
    kwargs.setdefault("poll_timeout", 1.0)
    adapter = TelegramAdapter(fake.token, fake.url, **kwargs)
    inbox = Inbox()
    await adapter.connect(inbox)
    try:
        yield adapter, inbox
    finally:
        await adapter.disconnect()
