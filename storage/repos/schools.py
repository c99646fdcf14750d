from __future__ import annotations

from datetime import datetime

from storage.db import Database, Row
from storage.records import Class, School, to_db_time

_CLASS = """SELECT c.id, c.school_id, c.name, s.name AS school_name, c.weekly_digest
            FROM classes c JOIN schools s ON s.id = c.school_id"""


def _class(row: Row) -> Class:
    return Class(row["id"], row["school_id"], row["name"], row["school_name"], row["weekly_digest"])


class SchoolRepo:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def ensure_school(self, name: str, now: datetime) -> School:
        await self.db.execute(
            "INSERT INTO schools (name, created_at) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
            name,
            to_db_time(now),
        )
        row = await self.db.fetchrow("SELECT id, name FROM schools WHERE name = $1", name)
        assert row is not None
        return School(row["id"], row["name"])

    async def ensure_class(
        self, school_id: int, name: str, weekly_digest: str, now: datetime
    ) -> Class:
        await self.db.execute(
            """INSERT INTO classes (school_id, name, weekly_digest, created_at)
               VALUES ($1, $2, $3, $4) ON CONFLICT (school_id, name) DO NOTHING""",
            school_id,
            name,
            weekly_digest,
            to_db_time(now),
        )
        row = await self.db.fetchrow(
            f"{_CLASS} WHERE c.school_id = $1 AND c.name = $2", school_id, name
        )
        assert row is not None
        return _class(row)

    async def get_class(self, class_id: int) -> Class | None:
        row = await self.db.fetchrow(f"{_CLASS} WHERE c.id = $1", class_id)
        return None if row is None else _class(row)

    async def find_classes(self, name: str, school: str | None = None) -> list[Class]:
        rows = await self.db.fetch(
            f"{_CLASS} WHERE c.name = $1 AND ($2 IS NULL OR s.name = $2) ORDER BY c.id",
            name,
            school,
        )
        return [_class(r) for r in rows]

    async def all_classes(self) -> list[Class]:
        return [_class(r) for r in await self.db.fetch(f"{_CLASS} ORDER BY c.id")]

    async def set_weekly_digest(self, class_id: int, slot: str) -> None:
        await self.db.execute("UPDATE classes SET weekly_digest = $1 WHERE id = $2", slot, class_id)
