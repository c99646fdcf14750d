"""Children, guardians and their subscriptions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from storage.db import Database, Executor, Row
from storage.records import Child, ConsentRow, Guardian, Subscription, from_db_time, to_db_time
from storage.repos.audit import forget_child, forget_guardian, pseudonym

_CHILD = "SELECT id, class_id, first_name, consent FROM children"
_GUARDIAN = "SELECT id, platform, user_id, chat_id, language FROM guardians"
_SUB = """SELECT id, guardian_id, child_id, class_id, frequency, paused, suspended_reason
          FROM subscriptions"""


def _child(r: Row) -> Child:
    consent = r["consent"]
    return Child(
        r["id"], r["class_id"], r["first_name"], None if consent is None else bool(consent)
    )


def _guardian(r: Row | None) -> Guardian | None:
    if r is None:
        return None
    return Guardian(r["id"], r["platform"], r["user_id"], r["chat_id"], r["language"])


def _sub(r: Row) -> Subscription:
    return Subscription(
        r["id"],
        r["guardian_id"],
        r["child_id"],
        r["class_id"],
        r["frequency"],
        bool(r["paused"]),
        r["suspended_reason"],
    )


@dataclass(frozen=True)
class FamilyLine:
    """One child of a class, as a teacher sees it in /parents."""

    child_id: int
    first_name: str
    consent: bool | None
    guardians: int
    immediate: int
    digest: int
    paused: int
    suspended: int
    # How its guardians receive: (platform, count), and how many of them
    # had their address refused by the mail server.
    platforms: tuple[tuple[str, int], ...] = ()
    email_refused: int = 0
    # The mail server's codes for those refusals ("550"), and whether the
    # family has its private web page.
    refusal_codes: tuple[str, ...] = ()
    has_page: bool = False


@dataclass(frozen=True)
class ErasedChild:
    """What erasing a child left for the caller to finish outside the database."""

    first_name: str
    class_id: int
    # Guardians who were subscribed for it (some may now have no subscription left).
    guardian_ids: tuple[int, ...]
    # Files of its private recordings and of compiled recordings that may hold
    # them: delete each one no row still uses (RecordingRepo.file_in_use).
    file_shas: frozenset[str]


class FamilyRepo:
    def __init__(self, db: Database) -> None:
        self.db = db

    # -- children ---------------------------------------------------------

    async def ensure_child(
        self, class_id: int, first_name: str, name_key: str, now: datetime
    ) -> tuple[Child, bool]:
        created = await self.db.execute(
            """INSERT INTO children (class_id, first_name, name_key, created_at)
               VALUES ($1, $2, $3, $4) ON CONFLICT (class_id, name_key) DO NOTHING""",
            class_id,
            first_name,
            name_key,
            to_db_time(now),
        )
        child = await self.find_child(class_id, name_key)
        assert child is not None
        return child, created > 0

    async def find_child(self, class_id: int, name_key: str) -> Child | None:
        row = await self.db.fetchrow(
            f"{_CHILD} WHERE class_id = $1 AND name_key = $2", class_id, name_key
        )
        return None if row is None else _child(row)

    async def get_child(self, child_id: int) -> Child | None:
        row = await self.db.fetchrow(f"{_CHILD} WHERE id = $1", child_id)
        return None if row is None else _child(row)

    async def children_of_class(self, class_id: int) -> list[Child]:
        rows = await self.db.fetch(f"{_CHILD} WHERE class_id = $1 ORDER BY name_key, id", class_id)
        return [_child(r) for r in rows]

    async def set_consent(self, child_id: int, consent: bool, now: datetime) -> None:
        """The teacher's record of the paper form."""
        await self.db.execute(
            "UPDATE children SET consent = $1, consent_at = $2 WHERE id = $3",
            1 if consent else 0,
            to_db_time(now),
            child_id,
        )

    async def set_family_consent(
        self, guardian_id: int, child_id: int, consent: bool, now: datetime
    ) -> None:
        """One guardian's own answer for their child (replaces their earlier one)."""
        await self.db.execute(
            """INSERT INTO consent_answers (guardian_id, child_id, answer, at)
               VALUES ($1, $2, $3, $4)
               ON CONFLICT (guardian_id, child_id) DO UPDATE
               SET answer = excluded.answer, at = excluded.at""",
            guardian_id,
            child_id,
            1 if consent else 0,
            to_db_time(now),
        )

    async def consent_rows(self, class_id: int) -> list[ConsentRow]:
        """Every child of the class with its teacher record and family answers."""
        children = await self.db.fetch(
            "SELECT id, consent, consent_at FROM children WHERE class_id = $1 ORDER BY id",
            class_id,
        )
        # Each guardian's answer, and the one given on the family's page.
        answers = await self.db.fetch(
            """SELECT a.child_id, a.answer, a.at FROM consent_answers a
               JOIN children c ON c.id = a.child_id WHERE c.class_id = $1
               UNION ALL
               SELECT p.child_id, p.consent, p.consent_at FROM family_pages p
               JOIN children c ON c.id = p.child_id
               WHERE c.class_id = $1 AND p.consent IS NOT NULL""",
            class_id,
        )
        by_child: dict[int, list[tuple[bool, datetime]]] = {}
        for r in answers:
            at = from_db_time(r[2])
            assert at is not None
            by_child.setdefault(r[0], []).append((bool(r[1]), at))
        return [
            ConsentRow(
                child_id=r[0],
                teacher=None if r[1] is None else bool(r[1]),
                teacher_at=from_db_time(r[2]),
                family=tuple(by_child.get(r[0], ())),
            )
            for r in children
        ]

    async def mark_consent_asked(self, guardian_id: int, child_id: int, now: datetime) -> bool:
        """True the first time only: a family is asked once."""
        changed = await self.db.execute(
            """UPDATE subscriptions SET consent_asked_at = $1
               WHERE guardian_id = $2 AND child_id = $3 AND consent_asked_at IS NULL""",
            to_db_time(now),
            guardian_id,
            child_id,
        )
        return changed > 0

    async def rename_child(self, child_id: int, first_name: str, name_key: str) -> bool:
        """False when another child of the class already has that name."""
        row = await self.db.fetchrow("SELECT class_id FROM children WHERE id = $1", child_id)
        if row is None:
            return False
        taken = await self.db.fetchval(
            "SELECT id FROM children WHERE class_id = $1 AND name_key = $2 AND id <> $3",
            row[0],
            name_key,
            child_id,
        )
        if taken is not None:
            return False
        await self.db.execute(
            "UPDATE children SET first_name = $1, name_key = $2 WHERE id = $3",
            first_name,
            name_key,
            child_id,
        )
        return True

    async def subscribed_children(self, guardian_id: int) -> list[Child]:
        rows = await self.db.fetch(
            f"""{_CHILD} WHERE id IN (SELECT child_id FROM subscriptions WHERE guardian_id = $1)
                ORDER BY name_key, id""",
            guardian_id,
        )
        return [_child(r) for r in rows]

    # -- guardians --------------------------------------------------------

    async def upsert_guardian(
        self, platform: str, user_id: str, chat_id: str, now: datetime
    ) -> Guardian:
        await self.db.execute(
            """INSERT INTO guardians (platform, user_id, chat_id, created_at)
               VALUES ($1, $2, $3, $4)
               ON CONFLICT (platform, user_id) DO UPDATE SET chat_id = excluded.chat_id""",
            platform,
            user_id,
            chat_id,
            to_db_time(now),
        )
        guardian = await self.guardian_by_user(platform, user_id)
        assert guardian is not None
        return guardian

    async def set_language(self, guardian_id: int, language: str) -> None:
        await self.db.execute(
            "UPDATE guardians SET language = $1 WHERE id = $2", language, guardian_id
        )

    async def guardian_by_user(self, platform: str, user_id: str) -> Guardian | None:
        row = await self.db.fetchrow(
            f"{_GUARDIAN} WHERE platform = $1 AND user_id = $2",
            platform,
            user_id,
        )
        return _guardian(row)

    async def get_guardian(self, guardian_id: int) -> Guardian | None:
        return _guardian(await self.db.fetchrow(f"{_GUARDIAN} WHERE id = $1", guardian_id))

    async def guardians_of_child(self, child_id: int) -> list[int]:
        rows = await self.db.fetch(
            "SELECT guardian_id FROM subscriptions WHERE child_id = $1 ORDER BY guardian_id",
            child_id,
        )
        return [r[0] for r in rows]

    async def export_guardian(self, guardian_id: int) -> dict[str, object]:
        """All that is kept about one guardian, for an access request."""
        g = await self.db.fetchrow(
            "SELECT platform, user_id, chat_id, created_at, language FROM guardians WHERE id = $1",
            guardian_id,
        )
        subs = await self.db.fetch(
            """SELECT c.first_name, k.name, s.frequency, s.paused, s.suspended_reason,
                      s.created_at
               FROM subscriptions s JOIN children c ON c.id = s.child_id
               JOIN classes k ON k.id = s.class_id WHERE s.guardian_id = $1""",
            guardian_id,
        )
        deliveries = await self.db.fetch(
            """SELECT r.title, d.state, d.sent_at FROM deliveries d
               JOIN recordings r ON r.id = d.recording_id WHERE d.guardian_id = $1
               ORDER BY d.id""",
            guardian_id,
        )
        return {
            "platform": g["platform"] if g else None,
            "user_id": g["user_id"] if g else None,
            "chat_id": g["chat_id"] if g else None,
            "since": g["created_at"] if g else None,
            "language": g["language"] if g else None,
            "subscriptions": [
                {
                    "child": r[0],
                    "class": r[1],
                    "frequency": r[2],
                    "paused": bool(r[3]),
                    "suspended": r[4],
                    "since": r[5],
                }
                for r in subs
            ],
            "deliveries": [{"title": r[0], "state": r[1], "sent_at": r[2]} for r in deliveries],
        }

    async def guardians_without_subscription(self) -> list[Guardian]:
        rows = await self.db.fetch(
            f"{_GUARDIAN} WHERE id NOT IN (SELECT guardian_id FROM subscriptions) ORDER BY id"
        )
        return [g for g in map(_guardian, rows) if g is not None]

    async def erase_guardian(self, guardian_id: int) -> Guardian | None:
        """Erase a parent: nothing of them stays in the database.

        Their row goes with their subscriptions, deliveries and digests
        (foreign keys cascade), their wrong-code attempts, and audit rows made
        by them or naming their user or chat id are pseudonymised. Returns the
        guardian as it was (the caller may leave their chat), or None.
        """
        async with self.db.transaction() as tx:
            row = await tx.fetchrow(f"{_GUARDIAN} WHERE id = $1", guardian_id)
            guardian = _guardian(row)
            if guardian is None:
                return None
            await _forget_guardian(tx, guardian)
        return guardian

    async def erase_child(self, child_id: int) -> ErasedChild | None:
        """Erase a child completely (``/depart``, an erasure request, the end
        of the year): nothing naming it stays in the database.

        Goes, in one transaction: the child's row (its name and consent), its
        invitations, its subscriptions (its guardians stay: erase those left
        without any subscription with :meth:`erase_guardian`), the tags naming
        it on recordings (those recordings are withdrawn: its voice is in
        them and nobody can consent for it any more), its private recordings
        (``#prive #Prénom``) with their deliveries, the compiled recordings
        that may contain those, and its first name in the audit log (pseudonymised). Files are the
        caller's: see :attr:`ErasedChild.file_shas`. Returns None for an
        unknown child.
        """
        async with self.db.transaction() as tx:
            row = await tx.fetchrow(f"{_CHILD} WHERE id = $1", child_id)
            if row is None:
                return None
            child = _child(row)
            guardians = await tx.fetch(
                "SELECT guardian_id FROM subscriptions WHERE child_id = $1 ORDER BY guardian_id",
                child_id,
            )
            guardian_ids = tuple(int(r[0]) for r in guardians)
            shas = await _erase_private_recordings(tx, child_id, guardian_ids)
            await tx.execute("DELETE FROM invitations WHERE child_id = $1", child_id)
            # Its voice is in the recordings naming it, and nobody can consent
            # for it any more: they never go out again.
            await tx.execute(
                """UPDATE deliveries SET state = 'cancelled'
                   WHERE state IN ('pending', 'digest', 'held') AND recording_id IN
                   (SELECT recording_id FROM recording_children WHERE child_id = $1)""",
                child_id,
            )
            await tx.execute(
                """UPDATE recordings SET state = 'withdrawn', failure_reason = 'child_left'
                   WHERE state NOT IN ('withdrawn', 'cancelled', 'failed') AND id IN
                   (SELECT recording_id FROM recording_children WHERE child_id = $1)""",
                child_id,
            )
            await tx.execute("DELETE FROM recording_children WHERE child_id = $1", child_id)
            await tx.execute("DELETE FROM subscriptions WHERE child_id = $1", child_id)
            await tx.execute("DELETE FROM children WHERE id = $1", child_id)
            await forget_child(tx, child.class_id, child.first_name, pseudonym("enfant"))
        return ErasedChild(child.first_name, child.class_id, guardian_ids, frozenset(shas))

    # -- subscriptions ----------------------------------------------------

    async def subscribe(
        self,
        guardian_id: int,
        child_id: int,
        class_id: int,
        now: datetime,
        frequency: str = "immediat",
    ) -> tuple[Subscription, bool]:
        created = await self.db.execute(
            """INSERT INTO subscriptions (guardian_id, child_id, class_id, frequency, created_at)
               VALUES ($1, $2, $3, $4, $5) ON CONFLICT (guardian_id, child_id) DO NOTHING""",
            guardian_id,
            child_id,
            class_id,
            frequency,
            to_db_time(now),
        )
        if not created:  # a returning parent: lift a past suspension
            await self.db.execute(
                "UPDATE subscriptions SET suspended_reason = NULL "
                "WHERE guardian_id = $1 AND child_id = $2",
                guardian_id,
                child_id,
            )
        row = await self.db.fetchrow(
            f"{_SUB} WHERE guardian_id = $1 AND child_id = $2", guardian_id, child_id
        )
        assert row is not None
        return _sub(row), created > 0

    async def subscriptions_of_guardian(self, guardian_id: int) -> list[Subscription]:
        rows = await self.db.fetch(f"{_SUB} WHERE guardian_id = $1 ORDER BY id", guardian_id)
        return [_sub(r) for r in rows]

    async def set_frequency(self, guardian_id: int, frequency: str) -> None:
        await self.db.execute(
            "UPDATE subscriptions SET frequency = $1 WHERE guardian_id = $2",
            frequency,
            guardian_id,
        )

    async def set_paused(self, guardian_id: int, paused: bool) -> None:
        await self.db.execute(
            "UPDATE subscriptions SET paused = $1 WHERE guardian_id = $2",
            1 if paused else 0,
            guardian_id,
        )

    async def guardian_by_chat(self, platform: str, chat_id: str) -> Guardian | None:
        row = await self.db.fetchrow(
            f"{_GUARDIAN} WHERE platform = $1 AND chat_id = $2",
            platform,
            chat_id,
        )
        return _guardian(row)

    async def move_guardian_chat(self, guardian_id: int, chat_id: str) -> None:
        """A parent now talks to the bot from another private chat (a new
        Matrix direct chat): what is still to be sent goes there."""
        async with self.db.transaction() as tx:
            await tx.execute(
                "UPDATE guardians SET chat_id = $1 WHERE id = $2", chat_id, guardian_id
            )
            await tx.execute(
                "UPDATE deliveries SET chat_id = $1 WHERE guardian_id = $2 "
                "AND state IN ('pending', 'digest', 'held')",
                chat_id,
                guardian_id,
            )
            await tx.execute(
                "UPDATE digests SET chat_id = $1 WHERE guardian_id = $2 AND state = 'planned'",
                chat_id,
                guardian_id,
            )

    async def lift_suspension(self, guardian_id: int) -> bool:
        changed = await self.db.execute(
            "UPDATE subscriptions SET suspended_reason = NULL "
            "WHERE guardian_id = $1 AND suspended_reason IS NOT NULL",
            guardian_id,
        )
        return changed > 0

    async def suspend_guardian(self, guardian_id: int, reason: str) -> None:
        await self.db.execute(
            "UPDATE subscriptions SET suspended_reason = $1 WHERE guardian_id = $2",
            reason,
            guardian_id,
        )

    async def family_lines(self, class_id: int) -> list[FamilyLine]:
        rows = await self.db.fetch(
            """SELECT c.id, c.first_name, c.consent,
                      COUNT(s.id) AS guardians,
                      SUM(CASE WHEN s.id IS NOT NULL AND s.frequency = 'immediat'
                               THEN 1 ELSE 0 END) AS immediate,
                      SUM(CASE WHEN s.frequency IN ('quotidien', 'hebdomadaire')
                               THEN 1 ELSE 0 END) AS digest,
                      SUM(CASE WHEN s.paused = 1 THEN 1 ELSE 0 END) AS paused,
                      SUM(CASE WHEN s.suspended_reason IS NOT NULL THEN 1 ELSE 0 END) AS suspended
               FROM children c LEFT JOIN subscriptions s ON s.child_id = c.id
               WHERE c.class_id = $1
               GROUP BY c.id, c.first_name, c.consent, c.name_key
               ORDER BY c.name_key""",
            class_id,
        )
        by_child: dict[int, list[tuple[str, int]]] = {}
        refused: dict[int, int] = {}
        codes: dict[int, list[str]] = {}
        for r in await self.db.fetch(
            """SELECT DISTINCT s.child_id, s.suspended_reason FROM subscriptions s
               WHERE s.class_id = $1 AND s.suspended_reason LIKE 'email_refused%'
               ORDER BY s.child_id, s.suspended_reason""",
            class_id,
        ):
            codes.setdefault(r[0], []).append(str(r[1]).rsplit("_", 1)[-1])
        with_page = {
            int(r[0])
            for r in await self.db.fetch(
                """SELECT p.child_id FROM family_pages p JOIN children c ON c.id = p.child_id
                   WHERE c.class_id = $1""",
                class_id,
            )
        }
        for r in await self.db.fetch(
            """SELECT s.child_id, g.platform, COUNT(*),
                      SUM(CASE WHEN s.suspended_reason LIKE 'email_refused%' THEN 1 ELSE 0 END)
               FROM subscriptions s JOIN guardians g ON g.id = s.guardian_id
               WHERE s.class_id = $1 GROUP BY s.child_id, g.platform ORDER BY g.platform""",
            class_id,
        ):
            by_child.setdefault(r[0], []).append((r[1], int(r[2])))
            refused[r[0]] = refused.get(r[0], 0) + int(r[3] or 0)
        return [
            FamilyLine(
                r[0],
                r[1],
                None if r[2] is None else bool(r[2]),
                int(r[3]),
                int(r[4] or 0),
                int(r[5] or 0),
                int(r[6] or 0),
                int(r[7] or 0),
                tuple(by_child.get(r[0], ())),
                refused.get(r[0], 0),
                tuple(codes.get(r[0], ())),
                r[0] in with_page,
            )
            for r in rows
        ]

    # -- a family as a whole (its page) -------------------------------------

    async def subscriptions_of_child(self, child_id: int) -> list[Subscription]:
        rows = await self.db.fetch(f"{_SUB} WHERE child_id = $1 ORDER BY id", child_id)
        return [_sub(r) for r in rows]

    async def set_frequency_of_child(self, child_id: int, frequency: str) -> None:
        await self.db.execute(
            "UPDATE subscriptions SET frequency = $1 WHERE child_id = $2", frequency, child_id
        )

    async def set_paused_of_child(self, child_id: int, paused: bool) -> None:
        await self.db.execute(
            "UPDATE subscriptions SET paused = $1 WHERE child_id = $2",
            1 if paused else 0,
            child_id,
        )

    async def unsubscribe(self, guardian_id: int, child_id: int) -> None:
        await self.db.execute(
            "DELETE FROM subscriptions WHERE guardian_id = $1 AND child_id = $2",
            guardian_id,
            child_id,
        )


async def _forget_guardian(tx: Executor, guardian: Guardian) -> None:
    await forget_guardian(
        tx, guardian.platform, guardian.user_id, guardian.chat_id, pseudonym("parent")
    )
    await tx.execute(
        "DELETE FROM code_attempts WHERE platform = $1 AND chat_id = $2",
        guardian.platform,
        guardian.chat_id,
    )
    await tx.execute("DELETE FROM guardians WHERE id = $1", guardian.id)


async def _erase_private_recordings(
    tx: Executor, child_id: int, guardian_ids: tuple[int, ...]
) -> set[str]:
    """Delete the child's private recordings; returns the files they and the
    compiled recordings that may hold them used."""
    rows = await tx.fetch(
        "SELECT original_sha, voice_sha, compat_sha, created_at FROM recordings "
        "WHERE private_child_id = $1",
        child_id,
    )
    if not rows:
        return set()
    shas = {sha for r in rows for sha in (r[0], r[1], r[2]) if sha}
    await tx.execute("DELETE FROM recordings WHERE private_child_id = $1", child_id)
    # A mix built since the first of them may contain one (a digest of its
    # family, an /ecouter of its album): mixes are a cache, rebuilt on demand.
    # Kept: those an open digest of another family is sending (they cannot
    # hold a private recording of this child).
    since = min(str(r[3]) for r in rows)  # ISO-8601 UTC text sorts as time
    others = ", ".join(str(g) for g in guardian_ids) or "-1"  # NOT IN (NULL) keeps none
    mixes = await tx.fetch(
        f"""SELECT content_key, voice_sha, compat_sha FROM mixes WHERE created_at >= $1
            AND content_key NOT IN (
                SELECT mix_key FROM digests WHERE mix_key IS NOT NULL
                AND state IN ('planned', 'sending') AND guardian_id NOT IN ({others}))""",
        since,
    )
    for mix in mixes:
        shas.update((mix[1], mix[2]))
        await tx.execute("DELETE FROM mixes WHERE content_key = $1", mix[0])
    return shas
