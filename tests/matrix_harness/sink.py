"""A sink standing in for the core: records events, answers invites."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from adapters.matrix import MatrixAdapter
from bot.ports import ChatInvite, InboundEvent, OutboundMessage


@dataclass
class RecordingSink:
    """Joins direct chats (and every room when ``join_rooms``), declines the
    other invitations, as the core will."""

    join_rooms: bool = False
    # Said right after joining, from inside the sink, as the core does.
    welcome: str | None = None
    adapter: MatrixAdapter | None = None
    events: list[InboundEvent] = field(default_factory=list)

    async def __call__(self, event: InboundEvent) -> None:
        self.events.append(event)
        if isinstance(event, ChatInvite) and self.adapter is not None:
            if event.chat.is_direct or self.join_rooms:
                await self.adapter.join(event.chat.chat_id)
                if self.welcome:
                    await self.adapter.send(OutboundMessage(event.chat.chat_id, self.welcome))
            else:
                await self.adapter.leave(event.chat.chat_id)

    def matching(self, predicate: Callable[[InboundEvent], bool]) -> list[InboundEvent]:
        return [e for e in self.events if predicate(e)]

    async def wait_for(
        self, predicate: Callable[[InboundEvent], bool], timeout_s: float = 20.0
    ) -> InboundEvent:
        deadline = time.monotonic() + timeout_s
        while True:
            found = self.matching(predicate)
            if found:
                return found[0]
            if time.monotonic() > deadline:
                raise TimeoutError(f"no matching event; got {self.events!r}")
            await asyncio.sleep(0.05)
