"""The end of the school year in the database: the announcement and the
keepsakes are digests of their own kind (keys ``fin-annee:YEAR`` and
``souvenir:YEAR:CHILD``), so that ``UNIQUE (guardian_id, period_key)`` makes
each go out once whatever restarts; then the year's class data goes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from storage.db import Database
from storage.records import to_db_time

ANNOUNCE_PREFIX = "fin-annee:"
KEEPSAKE_PREFIX = "souvenir:"


def announce_key(year: int) -> str:
    return f"{ANNOUNCE_PREFIX}{year}"


def keepsake_prefix(year: int) -> str:
    return f"{KEEPSAKE_PREFIX}{year}:"


@dataclass(frozen=True)
class Notice:
    id: int
    platform: str
    chat_id: str
    text: str
    attempts: int


class YearEndRepo:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def plan_announcements(self, year: int, send_at: datetime, now: datetime) -> int:
        """One announcement per guardian subscribed for a child; returns how many are new."""
        return await self.db.execute(
            """INSERT INTO digests (guardian_id, period_key, platform, chat_id, state,
                 due_at, next_try_at, created_at)
               SELECT g.id, $1, g.platform, g.chat_id, 'planned', $2, $2, $3
               FROM guardians g
               WHERE EXISTS (SELECT 1 FROM subscriptions s WHERE s.guardian_id = g.id)
               ON CONFLICT (guardian_id, period_key) DO NOTHING""",
            announce_key(year),
            to_db_time(send_at),
            to_db_time(now),
        )

    async def plan_keepsakes(self, year: int, send_at: datetime, now: datetime) -> int:
        """One keepsake per subscription (a guardian and a child)."""
        return await self.db.execute(
            """INSERT INTO digests (guardian_id, period_key, platform, chat_id, state,
                 due_at, next_try_at, created_at)
               SELECT g.id, $1 || s.child_id, g.platform, g.chat_id, 'planned', $2, $2, $3
               FROM subscriptions s JOIN guardians g ON g.id = s.guardian_id
               ON CONFLICT (guardian_id, period_key) DO NOTHING""",
            keepsake_prefix(year),
            to_db_time(send_at),
            to_db_time(now),
        )

    async def keepsakes_to_plan(self, year: int) -> int:
        """Subscriptions without their keepsake yet (for --dry-run)."""
        value = await self.db.fetchval(
            """SELECT COUNT(*) FROM subscriptions s WHERE NOT EXISTS (
                 SELECT 1 FROM digests d WHERE d.guardian_id = s.guardian_id
                 AND d.period_key = $1 || s.child_id)""",
            keepsake_prefix(year),
        )
        return int(value or 0)

    async def keepsake_states(self, year: int) -> dict[str, int]:
        rows = await self.db.fetch(
            "SELECT state, COUNT(*) FROM digests WHERE period_key LIKE $1 GROUP BY state",
            keepsake_prefix(year) + "%",
        )
        return {r[0]: int(r[1]) for r in rows}

    async def is_closed(self, year: int) -> bool:
        found = await self.db.fetchval(
            "SELECT 1 FROM audit_log WHERE action = 'close-year' AND detail = $1", str(year)
        )
        return found is not None

    async def counts(self) -> dict[str, int]:
        """What the end of the year erases, as it stands."""
        out: dict[str, int] = {}
        for name, sql in (
            ("children", "SELECT COUNT(*) FROM children"),
            ("recordings", "SELECT COUNT(*) FROM recordings"),
            ("families", "SELECT COUNT(*) FROM guardians"),
            ("subscriptions", "SELECT COUNT(*) FROM subscriptions"),
            ("invitations", "SELECT COUNT(*) FROM invitations WHERE kind = 'parent'"),
            ("channels", "SELECT COUNT(*) FROM channels"),
        ):
            out[name] = int(await self.db.fetchval(sql) or 0)
        return out

    async def erase_class_content(self, class_id: int) -> set[str]:
        """The class's recordings, parent invitations and group bindings
        (its children are erased one by one before); returns file hashes."""
        async with self.db.transaction() as tx:
            rows = await tx.fetch(
                "SELECT original_sha, voice_sha, compat_sha FROM recordings WHERE class_id = $1",
                class_id,
            )
            await tx.execute("DELETE FROM recordings WHERE class_id = $1", class_id)
            await tx.execute(
                "DELETE FROM invitations WHERE class_id = $1 AND kind = 'parent'", class_id
            )
            await tx.execute("DELETE FROM channels WHERE class_id = $1", class_id)
        return {sha for row in rows for sha in row if sha}

    async def drop_mixes(self) -> set[str]:
        """Every compiled recording (digests, albums, keepsakes)."""
        async with self.db.transaction() as tx:
            rows = await tx.fetch("SELECT voice_sha, compat_sha FROM mixes")
            await tx.execute("DELETE FROM mixes")
        return {sha for row in rows for sha in row}

    # -- teacher notices -----------------------------------------------------

    async def add_notice(self, platform: str, chat_id: str, text: str, now: datetime) -> None:
        await self.db.execute(
            "INSERT INTO teacher_notices (platform, chat_id, text, created_at) "
            "VALUES ($1, $2, $3, $4)",
            platform,
            chat_id,
            text,
            to_db_time(now),
        )

    async def notices(self, platform: str) -> list[Notice]:
        rows = await self.db.fetch(
            "SELECT id, platform, chat_id, text, attempts FROM teacher_notices "
            "WHERE platform = $1 ORDER BY id",
            platform,
        )
        return [Notice(r[0], r[1], r[2], r[3], r[4]) for r in rows]

    async def notice_sent(self, notice_id: int) -> None:
        await self.db.execute("DELETE FROM teacher_notices WHERE id = $1", notice_id)

    async def notice_failed(self, notice_id: int) -> None:
        await self.db.execute(
            "UPDATE teacher_notices SET attempts = attempts + 1 WHERE id = $1", notice_id
        )
