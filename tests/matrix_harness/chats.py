"""The people's side of a Matrix test against the real service: their
conversations with the bot, read as their Element-like clients see them."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable

from adapters.matrix.devkit.client import Received, ScriptedClient
from tests.service_process import until as wait_until

WAIT_S = 60.0
# An invitation code alone on its line, as the bot gives it to the teacher.
CODE_LINE = re.compile(r"^[A-Za-z0-9_-]{20,64}$", re.M)


def title(n: int) -> str:
    return f"Essai {n:02d}"


async def until(check: Callable[[], object], what: str, wait_s: float = WAIT_S) -> None:
    await wait_until(check, what, wait_s)


class Chat:
    """One person's conversation with the bot in one room."""

    def __init__(self, client: ScriptedClient, room_id: str, bot_id: str) -> None:
        self.client = client
        self.room_id = room_id
        self.bot_id = bot_id
        self.seen: set[str] = set()

    def _new(self, item: Received) -> bool:
        return (
            item.room_id == self.room_id
            and item.sender == self.bot_id
            and item.type == "m.room.message"
            and item.event_id not in self.seen
        )

    async def bot_says(self) -> Received:
        """The bot's next message here (the client syncs while waiting)."""
        item = await self.client.wait_for(self._new, WAIT_S)
        self.seen.add(item.event_id)
        return item

    async def command(self, text: str) -> Received:
        await self.client.send_text(self.room_id, text)
        return await self.bot_says()

    def voices(self, n: int) -> set[str]:
        """The distinct events of recording ``n`` the bot posted here."""
        pattern = re.compile(rf"\b{re.escape(title(n))}\b")
        return {
            r.event_id
            for r in self.client.received
            if r.room_id == self.room_id
            and r.sender == self.bot_id
            and r.msgtype == "m.audio"
            and (pattern.search(r.body) or pattern.search(str(r.content.get("filename", ""))))
        }


async def open_dm(client: ScriptedClient, bot_id: str) -> Chat:
    room_id = await client.create_dm(bot_id)
    await client.wait_joined(room_id, bot_id, WAIT_S)
    return Chat(client, room_id, bot_id)


async def keep_syncing(clients: list[ScriptedClient]) -> None:
    """Each parent's client long-polls, as a phone left open would."""

    async def one(client: ScriptedClient) -> None:
        while True:
            try:
                await client.sync(timeout_ms=1000)
            except (RuntimeError, OSError):
                await asyncio.sleep(0.2)

    await asyncio.gather(*(one(c) for c in clients))
