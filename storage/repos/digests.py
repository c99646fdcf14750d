"""Digests: planned in bulk with set-based SQL, then sent like the outbox.

``UNIQUE (guardian_id, period_key)`` is what makes a digest go out once per
guardian and period: planning twice for the same period (two timers, a
restart, a clock set back) inserts nothing the second time.
"""

from __future__ import annotations

import json
from datetime import datetime

from storage.db import Database, Executor, Row
from storage.records import Digest, DigestItem, from_db_time, to_db_time

_DIGEST = """SELECT id, guardian_id, period_key, platform, chat_id, state, due_at, next_try_at,
                    attempts, steps_done, mix_key FROM digests"""

# Deliveries waiting for a digest, and not held back by their guardian.
_WAITING = """d.state = 'digest' AND d.digest_id IS NULL AND d.created_at <= $2
    AND NOT EXISTS (SELECT 1 FROM subscriptions p WHERE p.guardian_id = d.guardian_id
                    AND (p.paused = 1 OR p.suspended_reason IS NOT NULL))"""
_WEEKLY_CLASS = """EXISTS (SELECT 1 FROM subscriptions w WHERE w.guardian_id = d.guardian_id
                    AND w.class_id = r.class_id AND w.frequency = 'hebdomadaire')"""

OPEN_STATES = ("planned", "sending")

# The digest's guardian paused: nothing more of it goes out until /reprendre.
# The end-of-year announcement and keepsakes go even during a pause: they
# are the family's last chance to keep the year, and the year's erasure
# waits for them.
_PAUSED = """(digests.period_key NOT LIKE 'souvenir:%' AND digests.period_key NOT LIKE 'fin-annee:%'
    AND EXISTS (SELECT 1 FROM subscriptions p WHERE p.guardian_id = digests.guardian_id
    AND p.paused = 1))"""


def _digest(r: Row) -> Digest:
    due, next_try = from_db_time(r["due_at"]), from_db_time(r["next_try_at"])
    assert due is not None and next_try is not None
    return Digest(
        r["id"],
        r["guardian_id"],
        r["period_key"],
        r["platform"],
        r["chat_id"],
        r["state"],
        due,
        next_try,
        r["attempts"],
        r["steps_done"],
        r["mix_key"],
    )


class DigestRepo:
    def __init__(self, db: Database) -> None:
        self.db = db

    # -- planning ---------------------------------------------------------

    async def weekly_slots(self) -> list[str]:
        rows = await self.db.fetch("SELECT DISTINCT weekly_digest FROM classes")
        return [r[0] for r in rows]

    async def plan_daily(self, key: str, due: datetime, send_at: datetime, now: datetime) -> int:
        """One digest ``key`` per guardian with deliveries waiting since before
        ``due`` (classes they follow weekly excepted); returns how many are new."""
        async with self.db.transaction() as tx:
            created = await tx.execute(
                f"""INSERT INTO digests (guardian_id, period_key, platform, chat_id, state,
                      due_at, next_try_at, created_at)
                    SELECT DISTINCT d.guardian_id, $1, d.platform, d.chat_id, 'planned',
                           $2, $3, $4
                    FROM deliveries d JOIN recordings r ON r.id = d.recording_id
                    WHERE {_WAITING} AND NOT {_WEEKLY_CLASS}
                    ON CONFLICT (guardian_id, period_key) DO NOTHING""",
                key,
                to_db_time(due),
                to_db_time(send_at),
                to_db_time(now),
            )
            await tx.execute(
                f"""UPDATE deliveries SET digest_id = g.id
                    FROM digests g
                    WHERE g.guardian_id = deliveries.guardian_id AND g.period_key = $1
                      AND g.state = 'planned'
                      AND deliveries.id IN (
                          SELECT d.id FROM deliveries d JOIN recordings r ON r.id = d.recording_id
                          WHERE {_WAITING} AND NOT {_WEEKLY_CLASS})""",
                key,
                to_db_time(due),
            )
        return created

    async def plan_weekly(
        self, slot: str, key_prefix: str, due: datetime, send_at: datetime, now: datetime
    ) -> int:
        """For the classes whose weekly slot is ``slot``: one digest per guardian
        and class, keyed ``key_prefix`` + class id."""
        async with self.db.transaction() as tx:
            classes = "(SELECT id FROM classes WHERE weekly_digest = $5)"
            created = await tx.execute(
                f"""INSERT INTO digests (guardian_id, period_key, platform, chat_id, state,
                      due_at, next_try_at, created_at)
                    SELECT DISTINCT d.guardian_id, $1 || r.class_id, d.platform, d.chat_id,
                           'planned', $2, $3, $4
                    FROM deliveries d JOIN recordings r ON r.id = d.recording_id
                    WHERE r.class_id IN {classes} AND {_WAITING} AND {_WEEKLY_CLASS}
                    ON CONFLICT (guardian_id, period_key) DO NOTHING""",
                key_prefix,
                to_db_time(due),
                to_db_time(send_at),
                to_db_time(now),
                slot,
            )
            await tx.execute(
                f"""UPDATE deliveries SET digest_id = g.id
                    FROM recordings r, digests g
                    WHERE r.id = deliveries.recording_id
                      AND g.guardian_id = deliveries.guardian_id
                      AND g.period_key = $1 || r.class_id AND g.state = 'planned'
                      AND deliveries.id IN (
                          SELECT d.id FROM deliveries d JOIN recordings r ON r.id = d.recording_id
                          WHERE r.class_id IN {classes} AND {_WAITING} AND {_WEEKLY_CLASS})""",
                key_prefix,
                to_db_time(due),
                to_db_time(send_at),  # unused here: same numbering as above
                to_db_time(now),
                slot,
            )
        return created

    # -- pause and resume -------------------------------------------------

    async def hold_for_pause(self, guardian_id: int) -> int:
        """/pause: nothing more goes out. Digests not started are undone and
        everything open waits in 'held'."""
        async with self.db.transaction() as tx:
            await tx.execute(
                """UPDATE deliveries SET digest_id = NULL WHERE digest_id IN (
                     SELECT id FROM digests WHERE guardian_id = $1
                     AND state IN ('planned', 'sending') AND steps_done = 0)""",
                guardian_id,
            )
            # The end-of-year announcement and keepsakes are the last chance
            # to keep the year: a pause does not cancel them.
            await tx.execute(
                """UPDATE digests SET state = 'cancelled' WHERE guardian_id = $1
                   AND state IN ('planned', 'sending') AND steps_done = 0
                   AND period_key NOT LIKE 'souvenir:%' AND period_key NOT LIKE 'fin-annee:%'""",
                guardian_id,
            )
            return await tx.execute(
                """UPDATE deliveries SET state = 'held', hold_reason = NULL WHERE guardian_id = $1
                   AND (state = 'pending' OR (state = 'digest' AND digest_id IS NULL))""",
                guardian_id,
            )

    async def resume(
        self, guardian_id: int, key: str | None, send_at: datetime, now: datetime
    ) -> int:
        """/reprendre: what piled up becomes one digest ``key`` sent at
        ``send_at``; without a key it joins the guardian's next scheduled digest."""
        async with self.db.transaction() as tx:
            if key is None:
                return await tx.execute(
                    "UPDATE deliveries SET state = 'digest', digest_id = NULL "
                    "WHERE guardian_id = $1 AND state = 'held' AND hold_reason IS NULL",
                    guardian_id,
                )
            held = await tx.fetchval(
                "SELECT COUNT(*) FROM deliveries WHERE guardian_id = $1 AND state = 'held' "
                "AND hold_reason IS NULL",
                guardian_id,
            )
            if not held:
                return 0
            digest_id = await tx.fetchval(
                """INSERT INTO digests (guardian_id, period_key, platform, chat_id, state,
                     due_at, next_try_at, created_at)
                   SELECT id, $2, platform, chat_id, 'planned', $3, $3, $4
                   FROM guardians WHERE id = $1
                   ON CONFLICT (guardian_id, period_key) DO NOTHING
                   RETURNING id""",
                guardian_id,
                key,
                to_db_time(send_at),
                to_db_time(now),
            )
            if digest_id is None:
                return 0
            return await tx.execute(
                "UPDATE deliveries SET state = 'digest', digest_id = $1 "
                "WHERE guardian_id = $2 AND state = 'held' AND hold_reason IS NULL",
                digest_id,
                guardian_id,
            )

    # -- sending ----------------------------------------------------------

    async def due(self, platform: str, now: datetime, limit: int) -> list[Digest]:
        """Open digests due now; a paused guardian's wait (one paused half-way
        goes on from where it stopped after /reprendre)."""
        rows = await self.db.fetch(
            f"""{_DIGEST} WHERE platform = $1 AND state IN ('planned', 'sending')
                AND next_try_at <= $2 AND NOT {_PAUSED}
                ORDER BY next_try_at, id LIMIT $3""",
            platform,
            to_db_time(now),
            limit,
        )
        return [_digest(r) for r in rows]

    async def next_due_time(self, platform: str) -> datetime | None:
        value = await self.db.fetchval(
            "SELECT MIN(next_try_at) FROM digests WHERE platform = $1 "
            f"AND state IN ('planned', 'sending') AND NOT {_PAUSED}",
            platform,
        )
        return from_db_time(value)

    async def get(self, digest_id: int) -> Digest | None:
        row = await self.db.fetchrow(f"{_DIGEST} WHERE id = $1", digest_id)
        return None if row is None else _digest(row)

    async def by_guardian(self, guardian_id: int) -> list[Digest]:
        rows = await self.db.fetch(f"{_DIGEST} WHERE guardian_id = $1 ORDER BY id", guardian_id)
        return [_digest(r) for r in rows]

    async def freeze(self, digest_id: int) -> bool:
        """Fix the content: no delivery joins it any more. False if it is no
        longer open (sent meanwhile, cancelled by a pause...)."""
        await self.db.execute(
            "UPDATE digests SET state = 'sending' WHERE id = $1 AND state = 'planned'", digest_id
        )
        state = await self.db.fetchval("SELECT state FROM digests WHERE id = $1", digest_id)
        return bool(state == "sending")

    async def items(self, digest_id: int) -> list[DigestItem]:
        """Its recordings in album order; withdrawn ones stay in the list
        (``live`` False) so that step numbers never shift."""
        rows = await self.db.fetch(
            """SELECT d.id, d.state, r.id, r.state, k.name, a.title, a.position, r.position,
                      r.title, r.duration_s, r.voice_sha, r.compat_sha, r.compat_mime,
                      r.waveform
               FROM deliveries d JOIN recordings r ON r.id = d.recording_id
               JOIN albums a ON a.id = r.album_id JOIN classes k ON k.id = r.class_id
               WHERE d.digest_id = $1
               ORDER BY k.name, k.id, a.position, r.position, r.id""",
            digest_id,
        )
        return [
            DigestItem(
                delivery_id=r[0],
                delivery_state=r[1],
                recording_id=r[2],
                live=r[3] == "published" and r[1] in ("digest", "sent") and r[10] is not None,
                class_name=r[4],
                album_title=r[5],
                album_position=r[6],
                position=r[7],
                title=r[8],
                duration_s=r[9],
                voice_sha=r[10],
                compat_sha=r[11],
                compat_mime=r[12],
                waveform=tuple(json.loads(r[13])) if r[13] else (),
            )
            for r in rows
        ]

    async def set_mix(self, digest_id: int, mix_key: str) -> None:
        await self.db.execute("UPDATE digests SET mix_key = $1 WHERE id = $2", mix_key, digest_id)

    async def may_go_on(self, digest_id: int) -> bool:
        """Still being sent, and its guardian has not paused meanwhile."""
        value = await self.db.fetchval(
            f"SELECT 1 FROM digests WHERE id = $1 AND state = 'sending' AND NOT {_PAUSED}",
            digest_id,
        )
        return value is not None

    async def step_done(
        self, digest_id: int, step: int, message_id: str, delivery_id: int | None = None
    ) -> bool:
        """Message ``step - 1`` of the digest went out as ``message_id``; it
        is also kept on the delivery it carried, for /retirer. False when the
        digest is no longer being sent (cancelled by a pause meanwhile)."""
        async with self.db.transaction() as tx:
            changed = await tx.execute(
                """UPDATE digests SET steps_done = $1,
                     message_ids = TRIM(message_ids || ' ' || $2)
                   WHERE id = $3 AND steps_done = $1 - 1 AND state = 'sending'""",
                step,
                message_id,
                digest_id,
            )
            if changed and delivery_id is not None:
                await tx.execute(
                    "UPDATE deliveries SET platform_message_id = $1 "
                    "WHERE id = $2 AND digest_id = $3",
                    message_id,
                    delivery_id,
                    digest_id,
                )
        return changed > 0

    async def mark_sent(self, digest_id: int, now: datetime) -> bool:
        async with self.db.transaction() as tx:
            changed = await tx.execute(
                "UPDATE digests SET state = 'sent', sent_at = $1, last_error = NULL, "
                "attempts = attempts + 1 WHERE id = $2 AND state = 'sending'",
                to_db_time(now),
                digest_id,
            )
            if changed:
                await tx.execute(
                    "UPDATE deliveries SET state = 'sent', sent_at = $1 "
                    "WHERE digest_id = $2 AND state = 'digest'",
                    to_db_time(now),
                    digest_id,
                )
        return changed > 0

    async def mark_empty(self, digest_id: int) -> None:
        await self.db.execute(
            "UPDATE digests SET state = 'empty' WHERE id = $1 AND state IN ('planned', 'sending')",
            digest_id,
        )

    async def retry_later(
        self, digest_id: int, next_try: datetime, error: str, *, count_attempt: bool
    ) -> None:
        await self.db.execute(
            """UPDATE digests SET next_try_at = $1, last_error = $2, attempts = attempts + $3
               WHERE id = $4 AND state IN ('planned', 'sending')""",
            to_db_time(next_try),
            error,
            1 if count_attempt else 0,
            digest_id,
        )

    async def mark_failed(self, digest_id: int, reason: str) -> None:
        async with self.db.transaction() as tx:
            await _fail(tx, "id = $2 AND state IN ('planned', 'sending')", reason, digest_id)

    async def fail_open_of_guardian(self, guardian_id: int, reason: str) -> int:
        async with self.db.transaction() as tx:
            return await _fail(
                tx, "guardian_id = $2 AND state IN ('planned', 'sending')", reason, guardian_id
            )

    async def counts_by_state(self) -> dict[str, int]:
        rows = await self.db.fetch("SELECT state, COUNT(*) FROM digests GROUP BY state")
        return {r[0]: int(r[1]) for r in rows}


async def _fail(tx: Executor, where: str, reason: str, arg: int) -> int:
    # What went out before the failure reached the family: sent, not failed.
    await tx.execute(
        f"""UPDATE deliveries SET state = 'sent' WHERE state = 'digest'
            AND platform_message_id IS NOT NULL
            AND digest_id IN (SELECT id FROM digests WHERE {where})""",
        reason,
        arg,
    )
    await tx.execute(
        f"""UPDATE deliveries SET state = 'failed', last_error = $1
            WHERE state = 'digest' AND digest_id IN (SELECT id FROM digests WHERE {where})""",
        reason,
        arg,
    )
    return await tx.execute(
        f"UPDATE digests SET state = 'failed', last_error = $1 WHERE {where}", reason, arg
    )
