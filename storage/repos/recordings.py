"""Recordings and their life: received, processed, waiting, published..."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from storage.db import Database, Row
from storage.records import Recording, from_db_time, to_db_time

_COLUMNS = """id, album_id, class_id, position, title, state, failure_reason, is_private,
    private_child_id, platform, source_chat_id, source_message_id, attachment_ref,
    attachment_kind, posted_by, reply_message_id, original_sha, voice_sha, compat_sha,
    compat_mime, duration_s, waveform, publish_at, published_at, created_at"""
_RECORDING = f"SELECT {_COLUMNS} FROM recordings"
# The same columns read from a join where the recordings table is "r".
COLUMNS_OF_R = ", ".join(f"r.{c.strip()}" for c in _COLUMNS.split(","))

# States a recording leaves only by a teacher's or the publisher's action.
OPEN_STATES = ("received", "processing", "waiting", "held")
# States counted as "a recording" for status and albums.
LIVE_STATES = ("received", "processing", "waiting", "held", "published")


def recording_of(r: Row) -> Recording:
    created = from_db_time(r["created_at"])
    assert created is not None
    return Recording(
        id=r["id"],
        album_id=r["album_id"],
        class_id=r["class_id"],
        position=r["position"],
        title=r["title"],
        state=r["state"],
        failure_reason=r["failure_reason"],
        is_private=bool(r["is_private"]),
        private_child_id=r["private_child_id"],
        platform=r["platform"],
        source_chat_id=r["source_chat_id"],
        source_message_id=r["source_message_id"],
        attachment_ref=r["attachment_ref"],
        attachment_kind=r["attachment_kind"],
        posted_by=r["posted_by"],
        reply_message_id=r["reply_message_id"],
        original_sha=r["original_sha"],
        voice_sha=r["voice_sha"],
        compat_sha=r["compat_sha"],
        compat_mime=r["compat_mime"],
        duration_s=r["duration_s"],
        waveform=tuple(json.loads(r["waveform"])) if r["waveform"] else (),
        publish_at=from_db_time(r["publish_at"]),
        published_at=from_db_time(r["published_at"]),
        created_at=created,
    )


@dataclass(frozen=True)
class NewRecording:
    album_id: int
    class_id: int
    title: str
    platform: str
    source_chat_id: str
    source_message_id: str
    attachment_ref: str
    attachment_kind: str
    posted_by: str
    is_private: bool
    private_child_id: int | None
    tagged_child_ids: tuple[int, ...]
    # A caption named a child ambiguously: it waits for the teacher's answer.
    speakers_unclear: bool = False


@dataclass(frozen=True)
class ProcessedFiles:
    original_sha: str
    voice_sha: str
    compat_sha: str
    compat_mime: str
    duration_s: float
    waveform: tuple[int, ...]


@dataclass(frozen=True)
class Answer:
    """The teacher's answer to a recording, as the preparing process wrote it."""

    text: str
    # The "who speaks" buttons go under it (where the platform has buttons).
    choices: bool
    # The process that prepared the recording (host:pid).
    by: str


@dataclass(frozen=True)
class DueAnswer:
    recording_id: int
    class_id: int
    chat_id: str
    reply_to: str
    text: str
    choices: bool


class RecordingRepo:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def create(self, new: NewRecording, now: datetime) -> Recording | None:
        """File a new recording at the end of its album; None if that message
        was already filed (a platform re-delivering an event)."""
        async with self.db.transaction() as tx:
            exists = await tx.fetchval(
                """SELECT id FROM recordings WHERE platform = $1 AND source_chat_id = $2
                   AND source_message_id = $3""",
                new.platform,
                new.source_chat_id,
                new.source_message_id,
            )
            if exists is not None:
                return None
            position = await tx.fetchval(
                "SELECT COALESCE(MAX(position), 0) + 1 FROM recordings WHERE album_id = $1",
                new.album_id,
            )
            rec_id = await tx.fetchval(
                """INSERT INTO recordings (album_id, class_id, position, title, state,
                     is_private, private_child_id, platform, source_chat_id, source_message_id,
                     attachment_ref, attachment_kind, posted_by, created_at, speakers_unclear)
                   VALUES ($1, $2, $3, $4, 'received', $5, $6, $7, $8, $9, $10, $11, $12, $13,
                           $14)
                   RETURNING id""",
                new.album_id,
                new.class_id,
                position,
                new.title,
                1 if new.is_private else 0,
                new.private_child_id,
                new.platform,
                new.source_chat_id,
                new.source_message_id,
                new.attachment_ref,
                new.attachment_kind,
                new.posted_by,
                to_db_time(now),
                1 if new.speakers_unclear else 0,
            )
            await tx.executemany(
                "INSERT INTO recording_children (recording_id, child_id) VALUES ($1, $2) "
                "ON CONFLICT DO NOTHING",
                [(rec_id, child) for child in new.tagged_child_ids],
            )
            row = await tx.fetchrow(f"{_RECORDING} WHERE id = $1", rec_id)
        assert row is not None
        return recording_of(row)

    async def get(self, recording_id: int) -> Recording | None:
        row = await self.db.fetchrow(f"{_RECORDING} WHERE id = $1", recording_id)
        return None if row is None else recording_of(row)

    async def by_message(self, platform: str, chat_id: str, message_id: str) -> Recording | None:
        """The recording a message is about: the teacher's post or the bot's answer."""
        row = await self.db.fetchrow(
            f"""{_RECORDING} WHERE platform = $1 AND source_chat_id = $2
                AND (source_message_id = $3 OR reply_message_id = $3)""",
            platform,
            chat_id,
            message_id,
        )
        return None if row is None else recording_of(row)

    async def latest_open(self, class_id: int, posted_by: str) -> Recording | None:
        row = await self.db.fetchrow(
            f"""{_RECORDING} WHERE class_id = $1 AND posted_by = $2
                AND state IN ('received', 'processing', 'waiting', 'held')
                ORDER BY id DESC LIMIT 1""",
            class_id,
            posted_by,
        )
        return None if row is None else recording_of(row)

    async def speakers_unclear(self, recording_id: int) -> bool:
        value = await self.db.fetchval(
            "SELECT speakers_unclear FROM recordings WHERE id = $1", recording_id
        )
        return bool(value)

    async def tagged_children(self, recording_id: int) -> list[int]:
        rows = await self.db.fetch(
            "SELECT child_id FROM recording_children WHERE recording_id = $1", recording_id
        )
        return [r[0] for r in rows]

    async def set_reply(self, recording_id: int, reply_message_id: str) -> None:
        await self.db.execute(
            "UPDATE recordings SET reply_message_id = $1 WHERE id = $2",
            reply_message_id,
            recording_id,
        )

    async def set_state(
        self,
        recording_id: int,
        state: str,
        *,
        reason: str | None = None,
        only_from: Sequence[str] | None = None,
    ) -> bool:
        """Move to ``state``; with ``only_from``, only from one of those states."""
        allowed = tuple(only_from) if only_from else None
        sql = "UPDATE recordings SET state = $1, failure_reason = $2 WHERE id = $3"
        args: list[object] = [state, reason, recording_id]
        if allowed:
            marks = ", ".join(f"${i}" for i in range(4, 4 + len(allowed)))
            sql += f" AND state IN ({marks})"
            args.extend(allowed)
        return await self.db.execute(sql, *args) > 0

    async def set_processed(
        self,
        recording_id: int,
        files: ProcessedFiles,
        state: str,
        publish_at: datetime | None,
        reason: str | None = None,
        answer: Answer | None = None,
    ) -> bool:
        """Prepared; with ``answer``, the teacher's answer is due (stored
        with the outcome, so that a crash cannot lose it)."""
        changed = await self.db.execute(
            """UPDATE recordings SET original_sha = $1, voice_sha = $2, compat_sha = $3,
                 compat_mime = $4, duration_s = $5, waveform = $6, state = $7, publish_at = $8,
                 failure_reason = $9, prepared_by = $10, answer = $11, answer_choices = $12
               WHERE id = $13 AND state IN ('received', 'processing')""",
            files.original_sha,
            files.voice_sha,
            files.compat_sha,
            files.compat_mime,
            files.duration_s,
            json.dumps(list(files.waveform)),
            state,
            None if publish_at is None else to_db_time(publish_at),
            reason,
            None if answer is None else answer.by,
            None if answer is None else answer.text,
            1 if answer is not None and answer.choices else 0,
            recording_id,
        )
        return changed > 0

    async def refuse(self, recording_id: int, reason: str, answer: Answer) -> bool:
        """Failed (refused, or not to be had), the teacher's answer due; False
        when cancelled meanwhile or already answered."""
        changed = await self.db.execute(
            """UPDATE recordings SET state = 'failed', failure_reason = $1, prepared_by = $2,
                 answer = $3, answer_choices = 0
               WHERE id = $4 AND state IN ('received', 'processing')""",
            reason,
            answer.by,
            answer.text,
            recording_id,
        )
        return changed > 0

    async def answers_due(self, platform: str, limit: int = 50) -> list[DueAnswer]:
        rows = await self.db.fetch(
            """SELECT id, class_id, source_chat_id, source_message_id, answer, answer_choices
               FROM recordings WHERE platform = $1 AND answer IS NOT NULL
               ORDER BY id LIMIT $2""",
            platform,
            limit,
        )
        return [
            DueAnswer(
                recording_id=r["id"],
                class_id=r["class_id"],
                chat_id=r["source_chat_id"],
                reply_to=r["source_message_id"],
                text=r["answer"],
                choices=bool(r["answer_choices"]),
            )
            for r in rows
        ]

    async def answered(self, recording_id: int, reply_message_id: str | None) -> None:
        await self.db.execute(
            """UPDATE recordings SET answer = NULL, answer_choices = 0,
                 reply_message_id = COALESCE($1, reply_message_id)
               WHERE id = $2""",
            reply_message_id,
            recording_id,
        )

    async def release_held(self, recording_id: int, publish_at: datetime) -> bool:
        changed = await self.db.execute(
            """UPDATE recordings SET state = 'waiting', failure_reason = NULL, publish_at = $1
               WHERE id = $2 AND state = 'held'""",
            to_db_time(publish_at),
            recording_id,
        )
        return changed > 0

    async def hold_for_consent(self, recording_id: int) -> bool:
        """A waiting recording a consent holds back: it waits in 'held'."""
        changed = await self.db.execute(
            "UPDATE recordings SET state = 'held', failure_reason = 'consent' "
            "WHERE id = $1 AND state = 'waiting'",
            recording_id,
        )
        return changed > 0

    async def set_tags(
        self, recording_id: int, child_ids: Sequence[int], private_child_id: int | None
    ) -> bool:
        """Who speaks in it, while it has not gone out; False once it has."""
        async with self.db.transaction() as tx:
            state = await tx.fetchval("SELECT state FROM recordings WHERE id = $1", recording_id)
            if state not in OPEN_STATES:
                return False
            await tx.execute("DELETE FROM recording_children WHERE recording_id = $1", recording_id)
            for child_id in dict.fromkeys(child_ids):
                await tx.execute(
                    "INSERT INTO recording_children (recording_id, child_id) VALUES ($1, $2)",
                    recording_id,
                    child_id,
                )
            await tx.execute(
                "UPDATE recordings SET is_private = $1, private_child_id = $2, "
                "speakers_unclear = 0 WHERE id = $3",
                1 if private_child_id is not None else 0,
                private_child_id,
                recording_id,
            )
        return True

    async def naming_in_class(self, class_id: int, states: Sequence[str]) -> list[Recording]:
        marks = ", ".join(f"${i + 2}" for i in range(len(states)))
        rows = await self.db.fetch(
            f"{_RECORDING} WHERE class_id = $1 AND state IN ({marks}) ORDER BY id",
            class_id,
            *states,
        )
        return [recording_of(r) for r in rows]

    async def set_original(self, recording_id: int, sha: str) -> None:
        await self.db.execute(
            "UPDATE recordings SET original_sha = $1 WHERE id = $2", sha, recording_id
        )

    async def unfinished(self) -> list[Recording]:
        rows = await self.db.fetch(
            f"{_RECORDING} WHERE state IN ('received', 'processing') ORDER BY id"
        )
        return [recording_of(r) for r in rows]

    # Preparing is claimed for a lease, renewed while it runs: a process that
    # dies leaves the job to another once the lease has passed.
    async def claim(self, recording_id: int, owner: str, now: datetime, until: datetime) -> bool:
        changed = await self.db.execute(
            """UPDATE recordings SET claimed_by = $1, lease_until = $2
               WHERE id = $3 AND state IN ('received', 'processing')
                 AND (claimed_by IS NULL OR claimed_by = $1 OR lease_until <= $4)""",
            owner,
            to_db_time(until),
            recording_id,
            to_db_time(now),
        )
        return changed > 0

    async def claim_unfinished(
        self,
        platform: str,
        owner: str,
        now: datetime,
        until: datetime,
        limit: int = 50,
        *,
        downloads_only: bool = False,
    ) -> list[Recording]:
        """Unfinished recordings of ``platform`` nobody works on (any more);
        ``downloads_only``: those whose original is not stored yet."""
        only = "AND original_sha IS NULL" if downloads_only else ""
        rows = await self.db.fetch(
            f"""UPDATE recordings SET claimed_by = $1, lease_until = $2
                WHERE id IN (SELECT id FROM recordings
                             WHERE platform = $3 AND state IN ('received', 'processing')
                               AND (claimed_by IS NULL OR claimed_by = $1 OR lease_until <= $4)
                               {only}
                             ORDER BY id LIMIT $5 {self.db.skip_locked})
                RETURNING {_COLUMNS}""",
            owner,
            to_db_time(until),
            platform,
            to_db_time(now),
            limit,
        )
        return sorted((recording_of(r) for r in rows), key=lambda rec: rec.id)

    async def hand_over(self, recording_id: int, sha: str) -> bool:
        """The original is stored: its conversion is left to whichever
        process claims it first (:meth:`claim_originals`)."""
        changed = await self.db.execute(
            """UPDATE recordings SET original_sha = $1, claimed_by = NULL, lease_until = NULL
               WHERE id = $2 AND state IN ('received', 'processing')""",
            sha,
            recording_id,
        )
        return changed > 0

    async def claim_originals(
        self, platforms: Sequence[str], owner: str, now: datetime, until: datetime, limit: int
    ) -> list[Recording]:
        """Unfinished recordings of ``platforms`` whose original is stored and
        which nobody converts (any more): up to ``limit`` for ``owner``."""
        if not platforms or limit <= 0:
            return []
        marks = ", ".join(f"${i + 5}" for i in range(len(platforms)))
        rows = await self.db.fetch(
            f"""UPDATE recordings SET claimed_by = $1, lease_until = $2
                WHERE id IN (SELECT id FROM recordings
                             WHERE state IN ('received', 'processing')
                               AND original_sha IS NOT NULL
                               AND (claimed_by IS NULL OR lease_until <= $3)
                               AND platform IN ({marks})
                             ORDER BY id LIMIT $4 {self.db.skip_locked})
                RETURNING {_COLUMNS}""",
            owner,
            to_db_time(until),
            to_db_time(now),
            limit,
            *platforms,
        )
        return sorted((recording_of(r) for r in rows), key=lambda rec: rec.id)

    async def in_preparation(self) -> list[tuple[int, str | None]]:
        """Recordings being prepared, and the process working on each."""
        rows = await self.db.fetch(
            """SELECT id, claimed_by FROM recordings
               WHERE state IN ('received', 'processing') ORDER BY id"""
        )
        return [(r["id"], r["claimed_by"]) for r in rows]

    async def renew_claims(self, owner: str, until: datetime) -> int:
        return await self.db.execute(
            """UPDATE recordings SET lease_until = $2
               WHERE claimed_by = $1 AND state IN ('received', 'processing')""",
            owner,
            to_db_time(until),
        )

    async def release_claims(self) -> int:
        """Every claim forgotten: at the start of the only process there is."""
        return await self.db.execute(
            """UPDATE recordings SET claimed_by = NULL, lease_until = NULL
               WHERE claimed_by IS NOT NULL"""
        )

    async def due_for_publishing(self, now: datetime) -> list[Recording]:
        rows = await self.db.fetch(
            f"{_RECORDING} WHERE state = 'waiting' AND publish_at <= $1 ORDER BY publish_at, id",
            to_db_time(now),
        )
        return [recording_of(r) for r in rows]

    async def next_publish_time(self) -> datetime | None:
        value = await self.db.fetchval(
            "SELECT MIN(publish_at) FROM recordings WHERE state = 'waiting'"
        )
        return from_db_time(value)

    async def held_in_class(self, class_id: int) -> list[Recording]:
        rows = await self.db.fetch(
            f"{_RECORDING} WHERE class_id = $1 AND state = 'held' ORDER BY id", class_id
        )
        return [recording_of(r) for r in rows]

    async def published_in_album(self, album_id: int) -> list[Recording]:
        rows = await self.db.fetch(
            f"{_RECORDING} WHERE album_id = $1 AND state = 'published' ORDER BY position",
            album_id,
        )
        return [recording_of(r) for r in rows]

    async def published_in_class(self, class_id: int) -> list[tuple[Recording, tuple[int, ...]]]:
        """Every published recording of the class with the children it names,
        in one trip (a family page lists them all)."""
        rows = await self.db.fetch(
            f"""SELECT rc.child_id AS tagged, {COLUMNS_OF_R} FROM recordings r
                LEFT JOIN recording_children rc ON rc.recording_id = r.id
                WHERE r.class_id = $1 AND r.state = 'published' ORDER BY r.id""",
            class_id,
        )
        found: dict[int, tuple[Recording, list[int]]] = {}
        for row in rows:
            if row["id"] not in found:
                found[row["id"]] = (recording_of(row), [])
            if row["tagged"] is not None:
                found[row["id"]][1].append(row["tagged"])
        return [(rec, tuple(tagged)) for rec, tagged in found.values()]

    async def count_live_in_album(self, album_id: int) -> int:
        return int(
            await self.db.fetchval(
                "SELECT COUNT(*) FROM recordings WHERE album_id = $1 AND state = 'published'",
                album_id,
            )
        )

    async def delete_created_before(self, cutoff: datetime) -> set[str]:
        """Delete recordings filed before ``cutoff``; returns their file hashes."""
        async with self.db.transaction() as tx:
            rows = await tx.fetch(
                """SELECT original_sha, voice_sha, compat_sha FROM recordings
                   WHERE created_at < $1""",
                to_db_time(cutoff),
            )
            await tx.execute("DELETE FROM recordings WHERE created_at < $1", to_db_time(cutoff))
        return {sha for row in rows for sha in row if sha}

    async def file_in_use(self, sha: str) -> bool:
        found = await self.db.fetchval(
            """SELECT 1 FROM recordings WHERE original_sha = $1 OR voice_sha = $1
                 OR compat_sha = $1
               UNION SELECT 1 FROM mixes WHERE voice_sha = $1 OR compat_sha = $1""",
            sha,
        )
        return found is not None
