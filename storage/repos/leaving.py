"""Chats the bot still has to leave after an erasure (see migration 0004)."""

from __future__ import annotations

from storage.db import Database


class LeavingRepo:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def add(self, platform: str, chat_id: str) -> None:
        await self.db.execute(
            "INSERT INTO chats_to_leave (platform, chat_id) VALUES ($1, $2) "
            "ON CONFLICT (platform, chat_id) DO NOTHING",
            platform,
            chat_id,
        )

    async def of_platform(self, platform: str) -> list[str]:
        rows = await self.db.fetch(
            "SELECT chat_id FROM chats_to_leave WHERE platform = $1 ORDER BY chat_id", platform
        )
        return [str(r[0]) for r in rows]

    async def done(self, platform: str, chat_id: str) -> None:
        await self.db.execute(
            "DELETE FROM chats_to_leave WHERE platform = $1 AND chat_id = $2", platform, chat_id
        )
