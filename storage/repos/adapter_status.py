from __future__ import annotations

from datetime import datetime

from storage.db import Database
from storage.records import to_db_time


class AdapterStatusRepo:
    """The last error and the last successful send of each platform."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def error(self, platform: str, reason: str, now: datetime) -> None:
        await self.db.execute(
            """INSERT INTO adapter_status (platform, last_error, last_error_at)
               VALUES ($1, $2, $3)
               ON CONFLICT (platform) DO UPDATE SET last_error = excluded.last_error,
                 last_error_at = excluded.last_error_at""",
            platform,
            reason,
            to_db_time(now),
        )

    async def sent(self, platform: str, now: datetime) -> None:
        await self.db.execute(
            """INSERT INTO adapter_status (platform, last_sent_at) VALUES ($1, $2)
               ON CONFLICT (platform) DO UPDATE SET last_sent_at = excluded.last_sent_at""",
            platform,
            to_db_time(now),
        )

    async def all(self) -> dict[str, dict[str, str | None]]:
        rows = await self.db.fetch(
            "SELECT platform, last_error, last_error_at, last_sent_at FROM adapter_status"
        )
        return {
            r[0]: {"last_error": r[1], "last_error_at": r[2], "last_sent_at": r[3]} for r in rows
        }
