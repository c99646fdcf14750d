"""What the adapter remembers between runs, in ``store_dir/sync.sqlite``.

- the sync token, written only after every event of that sync was handed to
  the sink (nio's own token is not used: nio saves it before its callbacks);
- the ids of the events already handed over (recent ones), so that a sync
  replayed after a crash hands nothing twice;
- encrypted events that could not be decrypted yet (their room key had not
  arrived), retried after each sync;
- rooms known to be direct chats (from the ``is_direct`` flag of invites).
"""

from __future__ import annotations

import time
from pathlib import Path

import aiosqlite

_SCHEMA = """
CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS handled (event_id TEXT PRIMARY KEY, at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS pending (
    event_id TEXT PRIMARY KEY, room_id TEXT NOT NULL, source TEXT NOT NULL, at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS direct_rooms (room_id TEXT PRIMARY KEY, is_direct INTEGER NOT NULL);
"""

# Handled ids kept: far more than one sync can carry, small enough to stay tiny.
KEEP_HANDLED = 20_000
# An event whose key never came is given up after a day.
PENDING_MAX_AGE_S = 86_400.0


class SyncState:
    def __init__(self, db: aiosqlite.Connection) -> None:
        self._db = db

    @classmethod
    async def open(cls, path: Path) -> SyncState:
        db = await aiosqlite.connect(path)
        await db.executescript(_SCHEMA)
        await db.commit()
        return cls(db)

    async def close(self) -> None:
        await self._db.close()

    # -- sync token ---------------------------------------------------------

    async def token(self) -> str | None:
        async with self._db.execute("SELECT value FROM kv WHERE key = 'next_batch'") as cur:
            row = await cur.fetchone()
        return str(row[0]) if row else None

    async def save_token(self, token: str) -> None:
        await self._db.execute(
            "INSERT INTO kv (key, value) VALUES ('next_batch', ?)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (token,),
        )
        await self._db.execute(
            "DELETE FROM handled WHERE event_id IN (SELECT event_id FROM handled"
            " ORDER BY at DESC LIMIT -1 OFFSET ?)",
            (KEEP_HANDLED,),
        )
        await self._db.commit()

    # -- handled events -----------------------------------------------------

    async def is_handled(self, key: str) -> bool:
        async with self._db.execute("SELECT 1 FROM handled WHERE event_id = ?", (key,)) as cur:
            return await cur.fetchone() is not None

    async def mark_handled(self, key: str) -> None:
        await self._db.execute(
            "INSERT OR REPLACE INTO handled (event_id, at) VALUES (?, ?)", (key, time.time())
        )
        await self._db.execute("DELETE FROM pending WHERE event_id = ?", (key,))
        await self._db.commit()

    async def forget(self, key: str) -> None:
        await self._db.execute("DELETE FROM handled WHERE event_id = ?", (key,))
        await self._db.commit()

    # -- events waiting for their room key -----------------------------------

    async def add_pending(self, event_id: str, room_id: str, source: str) -> None:
        await self._db.execute(
            "INSERT OR IGNORE INTO pending (event_id, room_id, source, at) VALUES (?, ?, ?, ?)",
            (event_id, room_id, source, time.time()),
        )
        await self._db.commit()

    async def pending(self) -> list[tuple[str, str, str, float]]:
        """(event id, room id, source, when it was first seen), oldest first."""
        await self._db.execute(
            "DELETE FROM pending WHERE at < ?", (time.time() - PENDING_MAX_AGE_S,)
        )
        async with self._db.execute(
            "SELECT event_id, room_id, source, at FROM pending ORDER BY at"
        ) as cur:
            rows = await cur.fetchall()
        return [(str(r[0]), str(r[1]), str(r[2]), float(r[3])) for r in rows]

    # -- direct chats -------------------------------------------------------

    async def set_direct(self, room_id: str, is_direct: bool) -> None:
        await self._db.execute(
            "INSERT OR REPLACE INTO direct_rooms (room_id, is_direct) VALUES (?, ?)",
            (room_id, int(is_direct)),
        )
        await self._db.commit()

    async def forget_room(self, room_id: str) -> None:
        """A room the bot left (an erased parent's): nothing of it is kept."""
        await self._db.execute("DELETE FROM direct_rooms WHERE room_id = ?", (room_id,))
        await self._db.execute("DELETE FROM pending WHERE room_id = ?", (room_id,))
        await self._db.commit()

    async def direct_flags(self) -> dict[str, bool]:
        async with self._db.execute("SELECT room_id, is_direct FROM direct_rooms") as cur:
            rows = await cur.fetchall()
        return {str(r[0]): bool(r[1]) for r in rows}
