"""The outbox (one delivery per recording and guardian) and the media cache."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from storage.db import Database, Row
from storage.records import Delivery, Recording, from_db_time, to_db_time
from storage.repos.recordings import COLUMNS_OF_R, recording_of

_DELIVERY = """SELECT id, recording_id, guardian_id, platform, chat_id, state, attempts,
                      next_try_at, last_error, platform_message_id FROM deliveries"""


def _delivery(r: Row) -> Delivery:
    next_try = from_db_time(r["next_try_at"])
    assert next_try is not None
    return Delivery(
        r["id"],
        r["recording_id"],
        r["guardian_id"],
        r["platform"],
        r["chat_id"],
        r["state"],
        r["attempts"],
        next_try,
        r["last_error"],
        r["platform_message_id"],
    )


@dataclass(frozen=True)
class Outgoing:
    """What sending one delivery needs, read in one query."""

    state: str  # the delivery's, now
    recording: Recording
    album_title: str | None
    class_name: str | None
    voice_ref: str | None  # the platform's reference of an earlier upload
    compat_ref: str | None
    guardian_user_id: str
    guardian_language: str
    named_children: tuple[int, ...]  # tagged in the recording (#Prénom)
    # The guardian's children in the recording's class, in subscription order.
    class_children: tuple[int, ...] = ()


def _outgoing(rows: list[Row]) -> Outgoing:
    row = rows[0]
    return Outgoing(
        row["delivery_state"],
        recording_of(row),
        row["album_title"],
        row["class_name"],
        row["voice_ref"],
        row["compat_ref"],
        row["guardian_user_id"],
        row["guardian_language"],
        tuple(dict.fromkeys(r["named_child"] for r in rows if r["named_child"] is not None)),
        tuple(dict.fromkeys(r["class_child"] for r in rows if r["class_child"] is not None)),
    )


@dataclass(frozen=True)
class PublishOutcome:
    published: bool
    deliveries: int
    # Set when a named child has no consent: the recording is held instead.
    held_for_consent: bool = False


class DeliveryRepo:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def publish(
        self, recording_id: int, now: datetime, immediate_at: datetime
    ) -> PublishOutcome:
        """Publish a waiting recording and write its deliveries, in one transaction.

        Who receives it is decided here, in SQL, from the recording's class and
        private child. The caller has asked the consent rule first
        (``bot/service/audience.py``); every send asks it again.
        """
        async with self.db.transaction() as tx:
            row = await tx.fetchrow(
                "SELECT class_id, private_child_id, is_private, state FROM recordings "
                "WHERE id = $1",
                recording_id,
            )
            if row is None or row["state"] != "waiting":
                return PublishOutcome(False, 0)
            if row["is_private"] and row["private_child_id"] is None:
                await tx.execute(
                    "UPDATE recordings SET state = 'held', failure_reason = 'consent' "
                    "WHERE id = $1",
                    recording_id,
                )
                return PublishOutcome(False, 0, held_for_consent=True)
            await tx.execute(
                "UPDATE recordings SET state = 'published', published_at = $1 WHERE id = $2",
                to_db_time(now),
                recording_id,
            )
            await tx.execute(
                """INSERT INTO deliveries
                     (recording_id, guardian_id, platform, chat_id, state, next_try_at, created_at)
                   SELECT $1, g.id, g.platform, g.chat_id,
                          CASE WHEN s.paused = 1 THEN 'held'
                               WHEN s.frequency = 'immediat' THEN 'pending'
                               ELSE 'digest' END,
                          $2, $3
                   FROM subscriptions s JOIN guardians g ON g.id = s.guardian_id
                   WHERE s.class_id = $4 AND s.suspended_reason IS NULL
                     AND ($5 = 0 OR s.child_id = $6)
                   ORDER BY s.id
                   ON CONFLICT (recording_id, guardian_id) DO NOTHING""",
                recording_id,
                to_db_time(immediate_at),
                to_db_time(now),
                row["class_id"],
                row["is_private"],
                row["private_child_id"],
            )
            count = await tx.fetchval(
                "SELECT COUNT(*) FROM deliveries WHERE recording_id = $1", recording_id
            )
        return PublishOutcome(True, int(count))

    async def due(self, platform: str, now: datetime, limit: int) -> list[Delivery]:
        rows = await self.db.fetch(
            f"""{_DELIVERY} WHERE platform = $1 AND state = 'pending' AND next_try_at <= $2
                ORDER BY next_try_at, id LIMIT $3""",
            platform,
            to_db_time(now),
            limit,
        )
        return [_delivery(r) for r in rows]

    async def next_due_time(self, platform: str) -> datetime | None:
        value = await self.db.fetchval(
            "SELECT MIN(next_try_at) FROM deliveries WHERE platform = $1 AND state = 'pending'",
            platform,
        )
        return from_db_time(value)

    async def get(self, delivery_id: int) -> Delivery | None:
        row = await self.db.fetchrow(f"{_DELIVERY} WHERE id = $1", delivery_id)
        return None if row is None else _delivery(row)

    async def outgoing(self, delivery_id: int, platform: str) -> Outgoing | None:
        """The delivery's state, its guardian, its recording with the album and
        class names, the children it names and the cached uploads: one round
        trip per message sent."""
        return (await self.outgoing_many([delivery_id], platform)).get(delivery_id)

    async def outgoing_many(
        self, delivery_ids: Sequence[int], platform: str
    ) -> dict[int, Outgoing]:
        """``outgoing`` of several deliveries in one round trip (one row per
        delivery, named child and subscription in the recording's class)."""
        if not delivery_ids:
            return {}
        ids = ", ".join(f"${n}" for n in range(2, len(delivery_ids) + 2))
        rows = await self.db.fetch(
            f"""SELECT d.id AS delivery_id, d.state AS delivery_state, a.title AS album_title,
                       k.name AS class_name, mv.ref AS voice_ref, mc.ref AS compat_ref,
                       g.user_id AS guardian_user_id, g.language AS guardian_language,
                       rc.child_id AS named_child, s.child_id AS class_child, {COLUMNS_OF_R}
                FROM deliveries d JOIN recordings r ON r.id = d.recording_id
                JOIN guardians g ON g.id = d.guardian_id
                LEFT JOIN albums a ON a.id = r.album_id
                LEFT JOIN classes k ON k.id = r.class_id
                LEFT JOIN media_cache mv ON mv.sha = r.voice_sha AND mv.platform = $1
                LEFT JOIN media_cache mc ON mc.sha = r.compat_sha AND mc.platform = $1
                LEFT JOIN recording_children rc ON rc.recording_id = r.id
                LEFT JOIN subscriptions s ON s.guardian_id = d.guardian_id
                  AND s.class_id = r.class_id
                WHERE d.id IN ({ids})
                ORDER BY d.id, s.id""",
            platform,
            *delivery_ids,
        )
        by_delivery: dict[int, list[Row]] = {}
        for r in rows:
            by_delivery.setdefault(r["delivery_id"], []).append(r)
        return {d: _outgoing(of_d) for d, of_d in by_delivery.items()}

    async def mark_sent(self, delivery_id: int, message_id: str, now: datetime) -> bool:
        """pending -> sent. False when it left 'pending' while it was being
        sent (withdrawn, paused...): see ``settle_late_send``."""
        changed = await self.db.execute(
            """UPDATE deliveries SET state = 'sent', platform_message_id = $1, sent_at = $2,
                 attempts = attempts + 1, last_error = NULL
               WHERE id = $3 AND state = 'pending'""",
            message_id,
            to_db_time(now),
            delivery_id,
        )
        return changed > 0

    async def mark_sent_many(self, sent: Sequence[tuple[int, str]], now: datetime) -> set[int]:
        """``mark_sent`` of several (delivery, message id) in one statement;
        returns the deliveries it changed (the others left 'pending')."""
        if not sent:
            return set()
        ids = [f"${2 * n + 2}" for n in range(len(sent))]
        whens = " ".join(f"WHEN {i} THEN ${2 * n + 3}" for n, i in enumerate(ids))
        rows = await self.db.fetch(
            f"""UPDATE deliveries SET state = 'sent', platform_message_id = CASE id {whens} END,
                 sent_at = $1, attempts = attempts + 1, last_error = NULL
               WHERE id IN ({", ".join(ids)}) AND state = 'pending'
               RETURNING id""",
            to_db_time(now),
            *(value for pair in sent for value in pair),
        )
        return {int(r[0]) for r in rows}

    async def settle_late_send(self, delivery_id: int, message_id: str, now: datetime) -> str:
        """A send that finished after its delivery left 'pending'; returns the
        state it ends in. Held by a pause (or resumed into a digest not
        started yet): the parent has it, so it is 'sent' and leaves that
        digest. Otherwise (withdrawn: 'cancelled'; a consent withdrawn:
        'held') it stays as it is, with the message's id kept."""
        async with self.db.transaction() as tx:
            changed = await tx.execute(
                """UPDATE deliveries SET state = 'sent', platform_message_id = $1,
                     sent_at = $2, attempts = attempts + 1, last_error = NULL, digest_id = NULL
                   WHERE id = $3 AND ((state = 'held' AND hold_reason IS NULL)
                     OR (state = 'digest' AND (digest_id IS NULL OR digest_id IN (
                       SELECT id FROM digests WHERE state = 'planned'))))""",
                message_id,
                to_db_time(now),
                delivery_id,
            )
            if changed:
                return "sent"
            await tx.execute(
                "UPDATE deliveries SET platform_message_id = $1 WHERE id = $2",
                message_id,
                delivery_id,
            )
            state = await tx.fetchval("SELECT state FROM deliveries WHERE id = $1", delivery_id)
        return str(state)

    async def retry_later(
        self, delivery_id: int, next_try: datetime, error: str, *, count_attempt: bool
    ) -> None:
        await self.db.execute(
            """UPDATE deliveries SET next_try_at = $1, last_error = $2,
                 attempts = attempts + $3 WHERE id = $4 AND state = 'pending'""",
            to_db_time(next_try),
            error,
            1 if count_attempt else 0,
            delivery_id,
        )

    async def mark_failed(self, delivery_id: int, reason: str) -> bool:
        """pending -> failed; a delivery withdrawn or paused meanwhile is no
        failure of the platform."""
        changed = await self.db.execute(
            "UPDATE deliveries SET state = 'failed', last_error = $1, attempts = attempts + 1 "
            "WHERE id = $2 AND state = 'pending'",
            reason,
            delivery_id,
        )
        return changed > 0

    async def hold_for_consent(self, delivery_ids: list[int]) -> int:
        """These deliveries wait: a child their recording names has no consent.
        Only from 'pending' or 'digest' (a digest being sent keeps its own)."""
        changed = 0
        for delivery_id in delivery_ids:
            changed += await self.db.execute(
                """UPDATE deliveries SET state = 'held', hold_reason = 'consent', digest_id = NULL
                   WHERE id = $1 AND state IN ('pending', 'digest')""",
                delivery_id,
            )
        return changed

    async def hold_open_of_recording_for_consent(self, recording_id: int) -> int:
        """Every delivery of the recording not sent yet waits (digests already
        being sent ask the rule again before each recording)."""
        return await self.db.execute(
            """UPDATE deliveries SET state = 'held', hold_reason = 'consent', digest_id = NULL
               WHERE recording_id = $1 AND (state = 'pending'
                 OR (state = 'digest' AND (digest_id IS NULL OR digest_id IN (
                       SELECT id FROM digests WHERE state = 'planned'))))""",
            recording_id,
        )

    async def hold_for_consent_in_digest(self, delivery_ids: list[int]) -> int:
        """Deliveries of a digest about to be composed leave it and wait."""
        changed = 0
        for delivery_id in delivery_ids:
            changed += await self.db.execute(
                """UPDATE deliveries SET state = 'held', hold_reason = 'consent', digest_id = NULL
                   WHERE id = $1 AND state = 'digest'""",
                delivery_id,
            )
        return changed

    async def held_for_consent_in_class(self, class_id: int) -> dict[int, list[int]]:
        """Deliveries waiting for a consent, by recording."""
        rows = await self.db.fetch(
            """SELECT d.recording_id, d.id FROM deliveries d
               JOIN recordings r ON r.id = d.recording_id
               WHERE r.class_id = $1 AND d.state = 'held' AND d.hold_reason = 'consent'
               ORDER BY d.id""",
            class_id,
        )
        out: dict[int, list[int]] = {}
        for r in rows:
            out.setdefault(r[0], []).append(r[1])
        return out

    async def release_consent_hold(self, recording_id: int, now: datetime) -> int:
        """A recording's consent is back: its held deliveries return to where
        their guardian's choices put them (paused: held for the pause)."""
        return await self.db.execute(
            """UPDATE deliveries SET
                 state = CASE
                   WHEN EXISTS (SELECT 1 FROM subscriptions s WHERE s.guardian_id =
                                deliveries.guardian_id AND s.paused = 1) THEN 'held'
                   WHEN EXISTS (SELECT 1 FROM subscriptions s WHERE s.guardian_id =
                                deliveries.guardian_id AND s.frequency = 'immediat')
                        THEN 'pending'
                   ELSE 'digest' END,
                 hold_reason = NULL, next_try_at = $1
               WHERE recording_id = $2 AND state = 'held' AND hold_reason = 'consent'""",
            to_db_time(now),
            recording_id,
        )

    async def open_of_recording(self, recording_id: int) -> int:
        value = await self.db.fetchval(
            """SELECT COUNT(*) FROM deliveries WHERE recording_id = $1
               AND state IN ('pending', 'digest', 'held')""",
            recording_id,
        )
        return int(value)

    async def fail_open_of_guardian(self, guardian_id: int, reason: str) -> int:
        return await self.db.execute(
            """UPDATE deliveries SET state = 'failed', last_error = $1
               WHERE guardian_id = $2 AND state IN ('pending', 'digest', 'held')""",
            reason,
            guardian_id,
        )

    async def cancel_open_of_recording(self, recording_id: int) -> int:
        return await self.db.execute(
            """UPDATE deliveries SET state = 'cancelled'
               WHERE recording_id = $1 AND state IN ('pending', 'digest', 'held')""",
            recording_id,
        )

    async def sent_of_recording(self, recording_id: int) -> list[Delivery]:
        """Every delivery of it that reached a chat as a message of its own:
        sent alone, or inside a digest (also one still being sent). Those
        inside a compiled recording are counted by ``in_compilations``."""
        rows = await self.db.fetch(
            f"""{_DELIVERY} WHERE recording_id = $1 AND (state = 'sent'
                  OR (state = 'digest' AND platform_message_id IS NOT NULL))
                AND NOT (platform_message_id IS NULL AND digest_id IN (
                  SELECT id FROM digests WHERE mix_key IS NOT NULL))
                ORDER BY id""",
            recording_id,
        )
        return [_delivery(r) for r in rows]

    async def in_compilations(self, recording_id: int) -> int:
        """Families who received it inside a digest's compiled recording: a
        mix cannot be taken apart, so it cannot be removed from their chat."""
        value = await self.db.fetchval(
            """SELECT COUNT(*) FROM deliveries d JOIN digests g ON g.id = d.digest_id
               WHERE d.recording_id = $1 AND d.platform_message_id IS NULL
                 AND g.mix_key IS NOT NULL AND (d.state = 'sent' OR g.steps_done > 1)""",
            recording_id,
        )
        return int(value or 0)

    async def counts_by_state(self) -> dict[str, int]:
        rows = await self.db.fetch("SELECT state, COUNT(*) FROM deliveries GROUP BY state")
        counts = {state: 0 for state in ("pending", "digest", "held", "sent", "failed")}
        counts.update({r[0]: int(r[1]) for r in rows})
        return counts

    async def failures_by_reason(self) -> dict[str, int]:
        rows = await self.db.fetch(
            "SELECT COALESCE(last_error, '?'), COUNT(*) FROM deliveries "
            "WHERE state = 'failed' GROUP BY last_error"
        )
        return {r[0]: int(r[1]) for r in rows}


class MediaCacheRepo:
    """Platform references of uploaded files: upload once, send many times."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def get(self, sha: str, platform: str) -> str | None:
        value = await self.db.fetchval(
            "SELECT ref FROM media_cache WHERE sha = $1 AND platform = $2", sha, platform
        )
        return None if value is None else str(value)

    async def put(self, sha: str, platform: str, ref: str, now: datetime) -> None:
        await self.db.execute(
            """INSERT INTO media_cache (sha, platform, ref, updated_at) VALUES ($1, $2, $3, $4)
               ON CONFLICT (sha, platform) DO UPDATE SET ref = excluded.ref,
                 updated_at = excluded.updated_at""",
            sha,
            platform,
            ref,
            to_db_time(now),
        )

    async def drop(self, sha: str) -> None:
        await self.db.execute("DELETE FROM media_cache WHERE sha = $1", sha)
