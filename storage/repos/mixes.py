"""Compiled recordings, found by the hash of what they were built from."""

from __future__ import annotations

import json
from datetime import datetime

from storage.db import Database
from storage.records import Mix, to_db_time


class MixRepo:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def get(self, content_key: str) -> Mix | None:
        r = await self.db.fetchrow(
            "SELECT content_key, voice_sha, compat_sha, compat_mime, duration_s, waveform "
            "FROM mixes WHERE content_key = $1",
            content_key,
        )
        if r is None:
            return None
        return Mix(r[0], r[1], r[2], r[3], float(r[4]), tuple(json.loads(r[5])))

    async def put(self, mix: Mix, now: datetime) -> None:
        await self.db.execute(
            """INSERT INTO mixes (content_key, voice_sha, compat_sha, compat_mime,
                 duration_s, waveform, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)
               ON CONFLICT (content_key) DO UPDATE SET voice_sha = excluded.voice_sha,
                 compat_sha = excluded.compat_sha, compat_mime = excluded.compat_mime,
                 duration_s = excluded.duration_s, waveform = excluded.waveform""",
            mix.content_key,
            mix.voice_sha,
            mix.compat_sha,
            mix.compat_mime,
            mix.duration_s,
            json.dumps(list(mix.waveform)),
            to_db_time(now),
        )

    async def delete_created_before(self, cutoff: datetime) -> set[str]:
        """Forget mixes built before ``cutoff``; returns their file hashes."""
        async with self.db.transaction() as tx:
            rows = await tx.fetch(
                "SELECT voice_sha, compat_sha FROM mixes WHERE created_at < $1",
                to_db_time(cutoff),
            )
            await tx.execute("DELETE FROM mixes WHERE created_at < $1", to_db_time(cutoff))
        return {sha for row in rows for sha in row}
