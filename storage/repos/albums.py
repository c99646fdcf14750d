from __future__ import annotations

from datetime import datetime

from storage.db import Database, Row
from storage.records import Album, to_db_time

_ALBUM = "SELECT id, class_id, position, title, is_current FROM albums"


def _album(r: Row) -> Album:
    return Album(r["id"], r["class_id"], r["position"], r["title"], bool(r["is_current"]))


class AlbumRepo:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def make_current(
        self, class_id: int, title: str, title_key: str, now: datetime
    ) -> tuple[Album, bool]:
        """The class's current album becomes ``title`` (created if new)."""
        async with self.db.transaction() as tx:
            row = await tx.fetchrow(
                f"{_ALBUM} WHERE class_id = $1 AND title_key = $2", class_id, title_key
            )
            created = row is None
            await tx.execute("UPDATE albums SET is_current = 0 WHERE class_id = $1", class_id)
            if row is None:
                position = await tx.fetchval(
                    "SELECT COALESCE(MAX(position), 0) + 1 FROM albums WHERE class_id = $1",
                    class_id,
                )
                album_id = await tx.fetchval(
                    """INSERT INTO albums
                         (class_id, position, title, title_key, is_current, created_at)
                       VALUES ($1, $2, $3, $4, 1, $5) RETURNING id""",
                    class_id,
                    position,
                    title,
                    title_key,
                    to_db_time(now),
                )
            else:
                album_id = row["id"]
                await tx.execute("UPDATE albums SET is_current = 1 WHERE id = $1", album_id)
            fresh = await tx.fetchrow(f"{_ALBUM} WHERE id = $1", album_id)
        assert fresh is not None
        return _album(fresh), created

    async def current(self, class_id: int) -> Album | None:
        row = await self.db.fetchrow(f"{_ALBUM} WHERE class_id = $1 AND is_current = 1", class_id)
        return None if row is None else _album(row)

    async def get(self, album_id: int) -> Album | None:
        row = await self.db.fetchrow(f"{_ALBUM} WHERE id = $1", album_id)
        return None if row is None else _album(row)

    async def of_class(self, class_id: int) -> list[Album]:
        rows = await self.db.fetch(f"{_ALBUM} WHERE class_id = $1 ORDER BY position", class_id)
        return [_album(r) for r in rows]

    async def by_position(self, class_id: int, position: int) -> Album | None:
        row = await self.db.fetchrow(
            f"{_ALBUM} WHERE class_id = $1 AND position = $2", class_id, position
        )
        return None if row is None else _album(row)
