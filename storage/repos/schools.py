from __future__ import annotations

from datetime import datetime

from storage.db import Database, Row
from storage.names import name_key
from storage.records import Class, ClassOverview, School, to_db_time

_CLASS = """SELECT c.id, c.school_id, c.name, s.name AS school_name, c.weekly_digest
            FROM classes c JOIN schools s ON s.id = c.school_id"""


def _class(row: Row) -> Class:
    return Class(row["id"], row["school_id"], row["name"], row["school_name"], row["weekly_digest"])


class SchoolRepo:
    """Schools and classes. Names are looked up by their folded key
    (storage.names: accents and case ignored), never by their spelling."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def fill_missing_keys(self) -> int:
        """Rows written before keys existed (migration 0006) get theirs."""
        filled = 0
        for table in ("schools", "classes"):
            rows = await self.db.fetch(f"SELECT id, name FROM {table} WHERE name_key IS NULL")
            for r in rows:
                await self.db.execute(
                    f"UPDATE {table} SET name_key = $1 WHERE id = $2", name_key(r["name"]), r["id"]
                )
            filled += len(rows)
        return filled

    async def ensure_school(self, name: str, now: datetime) -> School:
        """The school with this folded name (the oldest of several spellings
        kept from before), created when there is none."""
        key = name_key(name)
        async with self.db.transaction() as tx:
            row = await tx.fetchrow(
                "SELECT id, name FROM schools WHERE name_key = $1 ORDER BY id LIMIT 1", key
            )
            if row is None:
                await tx.execute(
                    "INSERT INTO schools (name, name_key, created_at) VALUES ($1, $2, $3)",
                    name,
                    key,
                    to_db_time(now),
                )
                row = await tx.fetchrow("SELECT id, name FROM schools WHERE name = $1", name)
        assert row is not None
        return School(row["id"], row["name"])

    async def ensure_class(
        self, school_id: int, name: str, weekly_digest: str, now: datetime
    ) -> Class:
        key = name_key(name)
        async with self.db.transaction() as tx:
            row = await tx.fetchrow(
                f"{_CLASS} WHERE c.school_id = $1 AND c.name_key = $2 ORDER BY c.id LIMIT 1",
                school_id,
                key,
            )
            if row is None:
                await tx.execute(
                    """INSERT INTO classes (school_id, name, name_key, weekly_digest, created_at)
                       VALUES ($1, $2, $3, $4, $5)""",
                    school_id,
                    name,
                    key,
                    weekly_digest,
                    to_db_time(now),
                )
                row = await tx.fetchrow(
                    f"{_CLASS} WHERE c.school_id = $1 AND c.name = $2", school_id, name
                )
        assert row is not None
        return _class(row)

    async def get_class(self, class_id: int) -> Class | None:
        row = await self.db.fetchrow(f"{_CLASS} WHERE c.id = $1", class_id)
        return None if row is None else _class(row)

    async def find_classes(self, name: str, school: str | None = None) -> list[Class]:
        rows = await self.db.fetch(
            f"""{_CLASS} WHERE c.name_key = $1
                AND (CAST($2 AS TEXT) IS NULL OR s.name_key = $2) ORDER BY c.id""",
            name_key(name),
            None if school is None else name_key(school),
        )
        return [_class(r) for r in rows]

    async def school_names(self) -> list[str]:
        return [r[0] for r in await self.db.fetch("SELECT name FROM schools ORDER BY name")]

    async def all_classes(self) -> list[Class]:
        return [_class(r) for r in await self.db.fetch(f"{_CLASS} ORDER BY c.id")]

    async def overview(self) -> list[ClassOverview]:
        """Every class with what the operator wants to see at a glance."""
        rows = await self.db.fetch(
            """SELECT s.name AS school, c.id, c.name AS class,
                 (SELECT COUNT(*) FROM children k WHERE k.class_id = c.id) AS children,
                 (SELECT COUNT(DISTINCT child_id) FROM subscriptions u
                   WHERE u.class_id = c.id) AS families,
                 (SELECT COUNT(*) FROM recordings r WHERE r.class_id = c.id
                   AND r.state NOT IN ('withdrawn', 'cancelled')) AS recordings
               FROM classes c JOIN schools s ON s.id = c.school_id
               ORDER BY s.name, c.name, c.id"""
        )
        channels: dict[int, list[str]] = {}
        for r in await self.db.fetch(
            "SELECT class_id, platform FROM channels ORDER BY platform, id"
        ):
            channels.setdefault(r[0], []).append(r[1])
        teachers: dict[int, list[tuple[str, str, str]]] = {}
        for r in await self.db.fetch(
            "SELECT class_id, display_name, platform, role FROM teachers ORDER BY id"
        ):
            teachers.setdefault(r[0], []).append((r[1], r[2], r[3]))
        return [
            ClassOverview(
                school=r["school"],
                class_id=r["id"],
                name=r["class"],
                channels=tuple(channels.get(r["id"], ())),
                children=int(r["children"]),
                families=int(r["families"]),
                recordings=int(r["recordings"]),
                teachers=tuple(teachers.get(r["id"], ())),
            )
            for r in rows
        ]

    async def set_weekly_digest(self, class_id: int, slot: str) -> None:
        await self.db.execute("UPDATE classes SET weekly_digest = $1 WHERE id = $2", slot, class_id)
