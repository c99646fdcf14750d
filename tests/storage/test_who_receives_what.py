"""Property: whatever the schools, classes, families, consents and
recordings, the outbox rows written at publish only ever name a guardian of
the recording's class, of its child when private. (Consent is the core's
rule, asked before publishing and again at every send: it is tested with the
service in tests/core/test_consent_machine.py.)"""

from __future__ import annotations

import asyncio
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from storage.db import Database
from storage.repos import Repositories
from storage.repos.recordings import NewRecording, ProcessedFiles
from tests.postgres_server import PostgresServer

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)

children_st = st.lists(
    st.tuples(
        st.integers(0, 3),  # class index
        st.sampled_from([None, True, False]),  # consent
        st.integers(0, 3),  # number of guardians
    ),
    min_size=1,
    max_size=8,
)
recordings_st = st.lists(
    st.tuples(
        st.integers(0, 3),  # class index
        st.lists(st.integers(0, 7), max_size=3),  # tagged children (indexes)
        st.booleans(),  # private
    ),
    min_size=1,
    max_size=6,
)


async def _scenario(
    db: Database,
    classes: int,
    children: list[tuple[int, bool | None, int]],
    recordings: list[tuple[int, list[int], bool]],
) -> None:
    repos = Repositories.over(db)
    school = await repos.schools.ensure_school("École", NOW)
    class_ids = [
        (await repos.schools.ensure_class(school.id, f"C{i}", "4 16:30", NOW)).id
        for i in range(classes)
    ]
    kids: list[tuple[int, int, bool | None]] = []  # (child id, class id, consent)
    guardian_of: dict[int, set[int]] = {}
    user = 0
    for i, (klass, consent, guardians) in enumerate(children):
        class_id = class_ids[klass % classes]
        kid, _ = await repos.families.ensure_child(class_id, f"E{i}", f"e{i}", NOW)
        if consent is not None:
            await repos.families.set_consent(kid.id, consent, NOW)
        kids.append((kid.id, class_id, consent))
        for _ in range(guardians):
            user += 1
            g = await repos.families.upsert_guardian("t", f"u{user}", f"u{user}", NOW)
            await repos.families.subscribe(g.id, kid.id, class_id, NOW)
            guardian_of.setdefault(kid.id, set()).add(g.id)
    for n, (klass, tags, private) in enumerate(recordings):
        class_id = class_ids[klass % classes]
        in_class = [k for k in kids if k[1] == class_id]
        tagged = (
            tuple(dict.fromkeys(in_class[t % len(in_class)][0] for t in tags))
            if (in_class and tags)
            else ()
        )
        private_child = tagged[0] if private and tagged else None
        album, _ = await repos.albums.make_current(class_id, "A", "a", NOW)
        rec = await repos.recordings.create(
            NewRecording(
                album.id,
                class_id,
                "t",
                "t",
                "g",
                f"m{n}",
                "r",
                "voice",
                "t:x",
                private,
                private_child,
                tagged,
            ),
            NOW,
        )
        assert rec is not None
        files = ProcessedFiles("a" * 64, "b" * 64, "c" * 64, "audio/mpeg", 1.0, ())
        await repos.recordings.set_processed(rec.id, files, "waiting", NOW)
        await repos.deliveries.publish(rec.id, NOW, NOW)

        delivered = {
            r[0]
            for r in await db.fetch(
                "SELECT guardian_id FROM deliveries WHERE recording_id = $1", rec.id
            )
        }
        if private and private_child is None:
            assert delivered == set(), "a private recording without its child went out"
            continue
        if private_child is not None:
            expected = guardian_of.get(private_child, set())
        else:
            expected = set().union(
                *(guardian_of.get(k[0], set()) for k in kids if k[1] == class_id)
            )
        assert delivered == expected


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(classes=st.integers(1, 3), children=children_st, recordings=recordings_st)
def test_deliveries_never_leave_their_audience(
    classes: int,
    children: list[tuple[int, bool | None, int]],
    recordings: list[tuple[int, list[int], bool]],
) -> None:
    async def run() -> None:
        with tempfile.TemporaryDirectory() as tmp:
            db = await Database.open(Path(tmp) / "pv.sqlite3")
            try:
                await _scenario(db, classes, children, recordings)
            finally:
                await db.close()

    asyncio.run(run())


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(classes=st.integers(1, 3), children=children_st, recordings=recordings_st)
def test_deliveries_never_leave_their_audience_on_postgresql(
    postgres: PostgresServer,
    classes: int,
    children: list[tuple[int, bool | None, int]],
    recordings: list[tuple[int, list[int], bool]],
) -> None:
    async def run() -> None:
        db = await Database.open(postgres.fresh_database())
        try:
            await _scenario(db, classes, children, recordings)
        finally:
            await db.close()

    asyncio.run(run())
