"""Family pages: the salt and hash of each family's link, never the link."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from storage.db import Database
from storage.records import Recording, to_db_time
from storage.repos.recordings import COLUMNS_OF_R, recording_of


@dataclass(frozen=True)
class LinkedRecording:
    """What one audio request behind a family's link needs, read at once."""

    child_id: int
    recording: Recording | None  # None: no such recording
    tagged: tuple[int, ...]  # the children it names


class FamilyPageRepo:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def export(self, child_id: int) -> dict[str, object] | None:
        """What is kept about a family's page, for an access request (never
        the link, its salt or its hash)."""
        row = await self.db.fetchrow(
            """SELECT created_at, renewed_at, consent, consent_at, language
               FROM family_pages WHERE child_id = $1""",
            child_id,
        )
        if row is None:
            return None
        return {
            "created_at": row[0],
            "renewed_at": row[1],
            "consent": None if row[2] is None else bool(row[2]),
            "consent_at": row[3],
            "language": row[4],
        }

    async def salt_of(self, child_id: int) -> str | None:
        value = await self.db.fetchval(
            "SELECT salt FROM family_pages WHERE child_id = $1", child_id
        )
        return None if value is None else str(value)

    async def create(self, child_id: int, salt: str, token_hash: str, now: datetime) -> str:
        """The family's page made if it has none; returns the salt that won
        (two guardians asking at once get the same page)."""
        await self.db.execute(
            """INSERT INTO family_pages (child_id, salt, token_hash, created_at, renewed_at)
               VALUES ($1, $2, $3, $4, $4) ON CONFLICT (child_id) DO NOTHING""",
            child_id,
            salt,
            token_hash,
            to_db_time(now),
        )
        stored = await self.salt_of(child_id)
        assert stored is not None
        return stored

    async def put(self, child_id: int, salt: str, token_hash: str, now: datetime) -> None:
        """A new link for the family; the previous one stops working at once."""
        await self.db.execute(
            """INSERT INTO family_pages (child_id, salt, token_hash, created_at, renewed_at)
               VALUES ($1, $2, $3, $4, $4)
               ON CONFLICT (child_id) DO UPDATE SET salt = excluded.salt,
                 token_hash = excluded.token_hash, renewed_at = excluded.renewed_at""",
            child_id,
            salt,
            token_hash,
            to_db_time(now),
        )

    async def set_consent(self, child_id: int, consent: bool, now: datetime) -> bool:
        """The answer given on the family's page; False when it has no page."""
        changed = await self.db.execute(
            "UPDATE family_pages SET consent = $1, consent_at = $2 WHERE child_id = $3",
            1 if consent else 0,
            to_db_time(now),
            child_id,
        )
        return changed > 0

    async def consent_of(self, child_id: int) -> bool | None:
        value = await self.db.fetchval(
            "SELECT consent FROM family_pages WHERE child_id = $1", child_id
        )
        return None if value is None else bool(value)

    async def language_of(self, child_id: int) -> str | None:
        value = await self.db.fetchval(
            "SELECT language FROM family_pages WHERE child_id = $1", child_id
        )
        return None if value is None else str(value)

    async def set_language(self, child_id: int, language: str) -> bool:
        """The page's language; False when the family has no page."""
        changed = await self.db.execute(
            "UPDATE family_pages SET language = $1 WHERE child_id = $2", language, child_id
        )
        return changed > 0

    async def child_for(self, token_hash: str) -> int | None:
        value = await self.db.fetchval(
            "SELECT child_id FROM family_pages WHERE token_hash = $1", token_hash
        )
        return None if value is None else int(value)

    async def recording_behind(self, token_hash: str, recording_id: int) -> LinkedRecording | None:
        """The child whose family's link this is, with one recording and the
        children it names, in one trip (a phone sends many Range requests);
        None when the link is unknown."""
        rows = await self.db.fetch(
            f"""SELECT p.child_id AS page_child, rc.child_id AS tagged, {COLUMNS_OF_R}
                FROM family_pages p
                LEFT JOIN recordings r ON r.id = $2
                LEFT JOIN recording_children rc ON rc.recording_id = r.id
                WHERE p.token_hash = $1""",
            token_hash,
            recording_id,
        )
        if not rows:
            return None
        first = rows[0]
        recording = None if first["id"] is None else recording_of(first)
        tagged = tuple(r["tagged"] for r in rows if r["tagged"] is not None)
        return LinkedRecording(int(first["page_child"]), recording, tagged)

    async def delete(self, child_id: int) -> None:
        await self.db.execute("DELETE FROM family_pages WHERE child_id = $1", child_id)

    async def children_with_page(self, class_id: int) -> set[int]:
        rows = await self.db.fetch(
            """SELECT p.child_id FROM family_pages p JOIN children c ON c.id = p.child_id
               WHERE c.class_id = $1""",
            class_id,
        )
        return {int(r[0]) for r in rows}
