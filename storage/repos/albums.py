from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from storage.db import Database, Row
from storage.records import Album, to_db_time

_ALBUM = "SELECT id, class_id, position, title, is_current FROM albums"


def _album(r: Row) -> Album:
    return Album(r["id"], r["class_id"], r["position"], r["title"], bool(r["is_current"]))


@dataclass(frozen=True)
class AlbumMix:
    """A whole album as one recording, and what it was built from."""

    content_key: str
    voice_sha: str
    compat_sha: str
    compat_mime: str
    duration_s: float
    waveform: tuple[int, ...]


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

    async def mix(self, album_id: int) -> AlbumMix | None:
        row = await self.db.fetchrow(
            "SELECT content_key, voice_sha, compat_sha, compat_mime, duration_s, waveform "
            "FROM album_mixes WHERE album_id = $1",
            album_id,
        )
        if row is None:
            return None
        return AlbumMix(row[0], row[1], row[2], row[3], float(row[4]), tuple(json.loads(row[5])))

    async def save_mix(self, album_id: int, mix: AlbumMix) -> None:
        await self.db.execute(
            """INSERT INTO album_mixes (album_id, content_key, voice_sha, compat_sha,
                 compat_mime, duration_s, waveform) VALUES ($1, $2, $3, $4, $5, $6, $7)
               ON CONFLICT (album_id) DO UPDATE SET content_key = excluded.content_key,
                 voice_sha = excluded.voice_sha, compat_sha = excluded.compat_sha,
                 compat_mime = excluded.compat_mime, duration_s = excluded.duration_s,
                 waveform = excluded.waveform""",
            album_id,
            mix.content_key,
            mix.voice_sha,
            mix.compat_sha,
            mix.compat_mime,
            mix.duration_s,
            json.dumps(list(mix.waveform)),
        )
