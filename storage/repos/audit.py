from __future__ import annotations

from datetime import datetime

from storage.db import Database
from storage.records import to_db_time


class AuditRepo:
    """Who did what, when. Callers never pass audio, tokens or codes."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def record(
        self, actor: str, action: str, now: datetime, class_id: int | None = None, detail: str = ""
    ) -> None:
        await self.db.execute(
            "INSERT INTO audit_log (at, actor, action, class_id, detail) "
            "VALUES ($1, $2, $3, $4, $5)",
            to_db_time(now),
            actor,
            action,
            class_id,
            detail,
        )

    async def recent(self, limit: int = 50) -> list[tuple[str, str, str, str]]:
        rows = await self.db.fetch(
            "SELECT at, actor, action, detail FROM audit_log ORDER BY id DESC LIMIT $1", limit
        )
        return [(r[0], r[1], r[2], r[3]) for r in rows]
