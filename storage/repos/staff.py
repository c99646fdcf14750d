"""Teachers and the class channels they bind."""

from __future__ import annotations

from datetime import datetime

from storage.db import Database, Row
from storage.records import Channel, Teacher, to_db_time

_TEACHER = "SELECT id, class_id, platform, user_id, chat_id, display_name, role FROM teachers"


def _teacher(r: Row) -> Teacher:
    return Teacher(
        r["id"],
        r["class_id"],
        r["platform"],
        r["user_id"],
        r["chat_id"],
        r["display_name"],
        r["role"],
    )


def _channel(r: Row) -> Channel:
    return Channel(r["id"], r["class_id"], r["platform"], r["chat_id"])


class StaffRepo:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def add_teacher(
        self,
        class_id: int,
        platform: str,
        user_id: str,
        chat_id: str,
        display_name: str,
        role: str,
        now: datetime,
    ) -> Teacher:
        await self.db.execute(
            """INSERT INTO teachers
                 (class_id, platform, user_id, chat_id, display_name, role, created_at)
               VALUES ($1, $2, $3, $4, $5, $6, $7)
               ON CONFLICT (class_id, platform, user_id)
               DO UPDATE SET chat_id = excluded.chat_id, display_name = excluded.display_name""",
            class_id,
            platform,
            user_id,
            chat_id,
            display_name,
            role,
            to_db_time(now),
        )
        row = await self.db.fetchrow(
            f"{_TEACHER} WHERE class_id = $1 AND platform = $2 AND user_id = $3",
            class_id,
            platform,
            user_id,
        )
        assert row is not None
        return _teacher(row)

    async def teachers_of_user(self, platform: str, user_id: str) -> list[Teacher]:
        rows = await self.db.fetch(
            f"{_TEACHER} WHERE platform = $1 AND user_id = $2 ORDER BY id", platform, user_id
        )
        return [_teacher(r) for r in rows]

    async def teachers_of_class(self, class_id: int) -> list[Teacher]:
        rows = await self.db.fetch(f"{_TEACHER} WHERE class_id = $1 ORDER BY id", class_id)
        return [_teacher(r) for r in rows]

    async def all_posts(self) -> list[tuple[Teacher, str, str]]:
        """Every teacher identity with its school and class names."""
        rows = await self.db.fetch(
            """SELECT t.id, t.class_id, t.platform, t.user_id, t.chat_id, t.display_name,
                      t.role, s.name AS school, c.name AS class
               FROM teachers t JOIN classes c ON c.id = t.class_id
               JOIN schools s ON s.id = c.school_id
               ORDER BY t.display_name, t.platform, t.user_id, s.name, c.name"""
        )
        return [(_teacher(r), r["school"], r["class"]) for r in rows]

    async def remove_teacher(
        self, platform: str, user_id: str, class_id: int | None = None
    ) -> list[Teacher]:
        """Unlink a teacher's identity from her classes (or from one): what
        she posted stays, and so do the classes' other teachers."""
        async with self.db.transaction() as tx:
            rows = await tx.fetch(
                f"""{_TEACHER} WHERE platform = $1 AND user_id = $2
                    AND (CAST($3 AS BIGINT) IS NULL OR class_id = $3) ORDER BY id""",
                platform,
                user_id,
                class_id,
            )
            for r in rows:
                await tx.execute("DELETE FROM teachers WHERE id = $1", r["id"])
        return [_teacher(r) for r in rows]

    async def is_teacher_of(self, class_id: int, platform: str, user_id: str) -> bool:
        found = await self.db.fetchval(
            "SELECT 1 FROM teachers WHERE class_id = $1 AND platform = $2 AND user_id = $3",
            class_id,
            platform,
            user_id,
        )
        return found is not None

    async def bind_channel(
        self, class_id: int, platform: str, chat_id: str, now: datetime
    ) -> Channel:
        await self.db.execute(
            """INSERT INTO channels (class_id, platform, chat_id, created_at)
               VALUES ($1, $2, $3, $4)
               ON CONFLICT (platform, chat_id) DO UPDATE SET class_id = excluded.class_id""",
            class_id,
            platform,
            chat_id,
            to_db_time(now),
        )
        channel = await self.channel_for_chat(platform, chat_id)
        assert channel is not None
        return channel

    async def channel_for_chat(self, platform: str, chat_id: str) -> Channel | None:
        row = await self.db.fetchrow(
            "SELECT id, class_id, platform, chat_id FROM channels "
            "WHERE platform = $1 AND chat_id = $2",
            platform,
            chat_id,
        )
        return None if row is None else _channel(row)

    async def channels_of_class(self, class_id: int) -> list[Channel]:
        rows = await self.db.fetch(
            "SELECT id, class_id, platform, chat_id FROM channels WHERE class_id = $1", class_id
        )
        return [_channel(r) for r in rows]

    async def unbind_channel(self, platform: str, chat_id: str) -> bool:
        return (
            await self.db.execute(
                "DELETE FROM channels WHERE platform = $1 AND chat_id = $2", platform, chat_id
            )
            > 0
        )

    async def migrate_chat(self, platform: str, old_chat_id: str, new_chat_id: str) -> bool:
        """A Telegram group became a supergroup: everything follows the new id."""
        moved = await self.db.execute(
            "UPDATE channels SET chat_id = $3 WHERE platform = $1 AND chat_id = $2",
            platform,
            old_chat_id,
            new_chat_id,
        )
        return moved > 0
