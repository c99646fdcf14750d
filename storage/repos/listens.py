"""Listen counts: which families heard or saw a recording (per child)."""

from __future__ import annotations

from datetime import datetime

from storage.db import Database
from storage.records import to_db_time


class ListenRepo:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def record(self, recording_id: int, child_id: int, kind: str, now: datetime) -> bool:
        """True the first time this family is counted for this recording."""
        added = await self.db.execute(
            """INSERT INTO listens (recording_id, child_id, kind, at) VALUES ($1, $2, $3, $4)
               ON CONFLICT (recording_id, child_id, kind) DO NOTHING""",
            recording_id,
            child_id,
            kind,
            to_db_time(now),
        )
        return added > 0

    async def children(self, recording_id: int, kind: str) -> set[int]:
        rows = await self.db.fetch(
            "SELECT child_id FROM listens WHERE recording_id = $1 AND kind = $2",
            recording_id,
            kind,
        )
        return {int(r[0]) for r in rows}

    async def of_child(self, child_id: int) -> list[dict[str, object]]:
        """Which recordings this family heard or saw, for an access request."""
        rows = await self.db.fetch(
            """SELECT r.title, r.position, l.kind, l.at FROM listens l
               JOIN recordings r ON r.id = l.recording_id
               WHERE l.child_id = $1 ORDER BY l.at, r.position""",
            child_id,
        )
        return [{"recording": r[0] or f"n°{r[1]}", "kind": r[2], "at": r[3]} for r in rows]

    async def forget_child(self, child_id: int) -> None:
        await self.db.execute("DELETE FROM listens WHERE child_id = $1", child_id)

    async def delivered_up_to(self, platform: str, chat_id: str, message_id: str) -> list[int]:
        """Recordings sent to one chat up to a message the reader has read
        (a read receipt covers everything before it in the chat): a delivery
        or a digest message. Empty when the message is none of ours."""
        marker = await self.db.fetchval(
            """SELECT MAX(sent_at) FROM (
                 SELECT sent_at FROM deliveries
                 WHERE platform = $1 AND chat_id = $2 AND platform_message_id = $3
                 UNION ALL
                 SELECT sent_at FROM digests
                 WHERE platform = $1 AND chat_id = $2
                   AND (' ' || message_ids || ' ') LIKE ('% ' || $3 || ' %')
               ) AS found""",
            platform,
            chat_id,
            message_id,
        )
        if marker is None:
            return []
        rows = await self.db.fetch(
            """SELECT DISTINCT recording_id FROM deliveries
               WHERE platform = $1 AND chat_id = $2 AND state = 'sent' AND sent_at <= $3""",
            platform,
            chat_id,
            marker,
        )
        return [int(r[0]) for r in rows]
