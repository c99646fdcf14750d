"""Parents' thanks, counted for the teachers once a day.

A thank-you is one row; the day's line is written, for every class thanked
since the last one, as teacher notices (``teacher_notices``, sent by the
running service) in the same transaction that claims the day and deletes
the rows counted: one line a day, never twice, never lost by a restart.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from storage.db import Database
from storage.records import to_db_time


class ThanksRepo:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def add(self, class_id: int, family_child_id: int, now: datetime) -> None:
        await self.db.execute(
            "INSERT INTO thanks (class_id, child_id, thanked_at) VALUES ($1, $2, $3)",
            class_id,
            family_child_id,
            to_db_time(now),
        )

    async def day_done(self, day: str) -> bool:
        found = await self.db.fetchval("SELECT 1 FROM thanks_days WHERE day = $1", day)
        return found is not None

    async def waiting(self) -> int:
        """Thanks not counted in a line yet."""
        return int(await self.db.fetchval("SELECT COUNT(*) FROM thanks") or 0)

    async def write_day(
        self, day: str, now: datetime, line: Callable[[str, int], str]
    ) -> int | None:
        """Claim ``day`` and turn the thanks of each class into a notice to
        each of its teachers (``line(class name, families)``); the number of
        notices, or None when the day was done already."""
        async with self.db.transaction() as tx:
            claimed = await tx.execute(
                "INSERT INTO thanks_days (day, done_at) VALUES ($1, $2) "
                "ON CONFLICT (day) DO NOTHING",
                day,
                to_db_time(now),
            )
            if not claimed:
                return None
            counts = await tx.fetch(
                """SELECT t.class_id, c.name, COUNT(DISTINCT t.child_id), MAX(t.id)
                   FROM thanks t JOIN classes c ON c.id = t.class_id
                   GROUP BY t.class_id, c.name ORDER BY t.class_id"""
            )
            notices = 0
            for class_id, class_name, families, last_id in counts:
                teachers = await tx.fetch(
                    "SELECT platform, chat_id FROM teachers WHERE class_id = $1 ORDER BY id",
                    class_id,
                )
                for platform, chat_id in teachers:
                    await tx.execute(
                        "INSERT INTO teacher_notices (platform, chat_id, text, created_at) "
                        "VALUES ($1, $2, $3, $4)",
                        platform,
                        chat_id,
                        line(class_name, int(families)),
                        to_db_time(now),
                    )
                    notices += 1
                await tx.execute(
                    "DELETE FROM thanks WHERE class_id = $1 AND id <= $2", class_id, last_id
                )
            return notices
