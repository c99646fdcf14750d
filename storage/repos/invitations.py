"""Invitations, stored by the hash of their code only."""

from __future__ import annotations

from datetime import datetime

from storage.db import Database, Row
from storage.records import Invitation, from_db_time, to_db_time

_INVITATION = """SELECT id, kind, class_id, child_id, max_uses, uses, expires_at, revoked_at
                 FROM invitations"""


def _invitation(r: Row) -> Invitation:
    expires = from_db_time(r["expires_at"])
    assert expires is not None
    return Invitation(
        r["id"],
        r["kind"],
        r["class_id"],
        r["child_id"],
        r["max_uses"],
        r["uses"],
        expires,
        r["revoked_at"] is not None,
    )


class InvitationRepo:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def create(
        self,
        code_hash: str,
        kind: str,
        class_id: int,
        child_id: int | None,
        max_uses: int,
        expires_at: datetime,
        now: datetime,
    ) -> int:
        new_id = await self.db.fetchval(
            """INSERT INTO invitations
                 (code_hash, kind, class_id, child_id, max_uses, expires_at, created_at)
               VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id""",
            code_hash,
            kind,
            class_id,
            child_id,
            max_uses,
            to_db_time(expires_at),
            to_db_time(now),
        )
        return int(new_id)

    async def find(self, code_hash: str) -> Invitation | None:
        row = await self.db.fetchrow(f"{_INVITATION} WHERE code_hash = $1", code_hash)
        return None if row is None else _invitation(row)

    async def get(self, invitation_id: int) -> Invitation | None:
        row = await self.db.fetchrow(f"{_INVITATION} WHERE id = $1", invitation_id)
        return None if row is None else _invitation(row)

    async def use(self, invitation_id: int) -> bool:
        """Count one use; False when none is left (checked atomically)."""
        changed = await self.db.execute(
            "UPDATE invitations SET uses = uses + 1 WHERE id = $1 AND uses < max_uses",
            invitation_id,
        )
        return changed > 0

    async def revoke_for_child(self, child_id: int, now: datetime) -> int:
        return await self.db.execute(
            "UPDATE invitations SET revoked_at = $1 WHERE child_id = $2 AND revoked_at IS NULL",
            to_db_time(now),
            child_id,
        )

    async def record_wrong_code(self, platform: str, chat_id: str, now: datetime) -> None:
        await self.db.execute(
            "INSERT INTO code_attempts (platform, chat_id, at) VALUES ($1, $2, $3)",
            platform,
            chat_id,
            to_db_time(now),
        )

    async def forget_attempts(self, platform: str, chat_id: str) -> None:
        await self.db.execute(
            "DELETE FROM code_attempts WHERE platform = $1 AND chat_id = $2", platform, chat_id
        )

    async def forget_attempts_before(self, moment: datetime) -> int:
        return await self.db.execute("DELETE FROM code_attempts WHERE at < $1", to_db_time(moment))

    async def wrong_codes_since(self, platform: str, chat_id: str, since: datetime) -> int:
        count = await self.db.fetchval(
            "SELECT COUNT(*) FROM code_attempts WHERE platform = $1 AND chat_id = $2 AND at >= $3",
            platform,
            chat_id,
            to_db_time(since),
        )
        return int(count)
