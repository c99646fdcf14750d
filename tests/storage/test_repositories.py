from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from storage.db import Database
from storage.media import LocalMediaStore
from storage.repos import Repositories
from storage.repos.recordings import NewRecording, ProcessedFiles

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


async def _class(repos: Repositories, school: str = "École", name: str = "MS") -> int:
    s = await repos.schools.ensure_school(school, NOW)
    return (await repos.schools.ensure_class(s.id, name, "4 16:30", NOW)).id


async def _family(repos: Repositories, class_id: int, child: str, *users: str) -> int:
    kid, _ = await repos.families.ensure_child(class_id, child, child.lower(), NOW)
    for user in users:
        g = await repos.families.upsert_guardian("t", user, user, NOW)
        await repos.families.subscribe(g.id, kid.id, class_id, NOW)
    return kid.id


async def _waiting_recording(
    repos: Repositories,
    class_id: int,
    msg: str,
    *,
    private_child: int | None = None,
    tagged: tuple[int, ...] = (),
) -> int:
    album, _ = await repos.albums.make_current(class_id, "Le loup", "le loup", NOW)
    rec = await repos.recordings.create(
        NewRecording(
            album.id,
            class_id,
            "t",
            "t",
            "g",
            msg,
            "ref",
            "voice",
            "t:x",
            private_child is not None,
            private_child,
            tagged,
        ),
        NOW,
    )
    assert rec is not None
    files = ProcessedFiles("a" * 64, "b" * 64, "c" * 64, "audio/mpeg", 3.0, (1, 2))
    assert await repos.recordings.set_processed(rec.id, files, "waiting", NOW)
    return rec.id


async def test_settings_and_migrations_are_applied_once(db: Database, tmp_path: Path) -> None:
    if db.backend == "sqlite":
        assert await db.fetchval("PRAGMA journal_mode") == "wal"
        assert await db.fetchval("PRAGMA foreign_keys") == 1
    version = await db.migrate()
    assert version >= 1
    assert await db.migrate() == version  # a second start changes nothing


async def test_publish_writes_one_delivery_per_guardian_once(repos: Repositories) -> None:
    klass = await _class(repos)
    other = await _class(repos, name="PS")
    await _family(repos, klass, "Lina", "p1", "p2")
    await _family(repos, klass, "Tom", "p3")
    await _family(repos, other, "Zoé", "p4")
    rec = await _waiting_recording(repos, klass, "m1")
    outcome = await repos.deliveries.publish(rec, NOW, NOW)
    assert outcome.published and outcome.deliveries == 3
    again = await repos.deliveries.publish(rec, NOW, NOW)
    assert not again.published
    due = await repos.deliveries.due("t", NOW, 100)
    assert sorted(d.chat_id for d in due) == ["p1", "p2", "p3"]


async def test_a_guardian_of_two_children_gets_one_copy(repos: Repositories) -> None:
    klass = await _class(repos)
    await _family(repos, klass, "Lina", "p1")
    await _family(repos, klass, "Léo", "p1")
    rec = await _waiting_recording(repos, klass, "m1")
    assert (await repos.deliveries.publish(rec, NOW, NOW)).deliveries == 1


async def test_private_goes_only_to_that_family(repos: Repositories) -> None:
    klass = await _class(repos)
    lina = await _family(repos, klass, "Lina", "p1", "p2")
    await _family(repos, klass, "Tom", "p3")
    await repos.families.set_consent(lina, True, NOW)
    rec = await _waiting_recording(repos, klass, "m1", private_child=lina, tagged=(lina,))
    await repos.deliveries.publish(rec, NOW, NOW)
    assert sorted(d.chat_id for d in await repos.deliveries.due("t", NOW, 10)) == ["p1", "p2"]


async def test_a_private_recording_without_its_child_is_never_published(
    repos: Repositories,
) -> None:
    klass = await _class(repos)
    lina = await _family(repos, klass, "Lina", "p1")
    rec = await _waiting_recording(repos, klass, "m1", private_child=lina)
    await repos.db.execute("DELETE FROM children WHERE id = $1", lina)  # its child is gone
    outcome = await repos.deliveries.publish(rec, NOW, NOW)
    assert outcome.held_for_consent and not outcome.published
    assert await repos.deliveries.due("t", NOW, 10) == []
    record = await repos.recordings.get(rec)
    assert record is not None and record.state == "held"


async def test_same_platform_message_is_filed_once(repos: Repositories) -> None:
    klass = await _class(repos)
    await _waiting_recording(repos, klass, "m1")
    album = await repos.albums.current(klass)
    assert album is not None
    dup = await repos.recordings.create(
        NewRecording(album.id, klass, "t", "t", "g", "m1", "ref", "voice", "t:x", False, None, ()),
        NOW,
    )
    assert dup is None


async def test_invitation_uses_are_limited_even_concurrently(repos: Repositories) -> None:
    klass = await _class(repos)
    inv = await repos.invitations.create("h" * 64, "parent", klass, None, 4, NOW, NOW)
    results = await asyncio.gather(*(repos.invitations.use(inv) for _ in range(10)))
    assert results.count(True) == 4


async def test_erasing_a_guardian_erases_subscriptions_and_deliveries(
    repos: Repositories,
) -> None:
    klass = await _class(repos)
    await _family(repos, klass, "Lina", "p1")
    rec = await _waiting_recording(repos, klass, "m1")
    await repos.deliveries.publish(rec, NOW, NOW)
    guardian = await repos.families.guardian_by_user("t", "p1")
    assert guardian is not None
    await repos.families.erase_guardian(guardian.id)
    assert await repos.deliveries.counts_by_state() == {
        "pending": 0,
        "digest": 0,
        "held": 0,
        "sent": 0,
        "failed": 0,
    }
    assert await repos.families.subscriptions_of_guardian(guardian.id) == []


async def test_album_current_is_unique_and_positions_grow(repos: Repositories) -> None:
    klass = await _class(repos)
    a, created = await repos.albums.make_current(klass, "Le loup", "le loup", NOW)
    b, _ = await repos.albums.make_current(klass, "Petit ours", "petit ours", NOW)
    again, created_again = await repos.albums.make_current(klass, "LE LOUP", "le loup", NOW)
    assert created and not created_again
    assert (a.position, b.position, again.id) == (1, 2, a.id)
    current = await repos.albums.current(klass)
    assert current is not None and current.id == a.id


async def test_retry_later_and_due_order(repos: Repositories) -> None:
    klass = await _class(repos)
    await _family(repos, klass, "Lina", "p1")
    rec = await _waiting_recording(repos, klass, "m1")
    await repos.deliveries.publish(rec, NOW, NOW)
    (delivery,) = await repos.deliveries.due("t", NOW, 10)
    later = NOW + timedelta(seconds=30)
    await repos.deliveries.retry_later(delivery.id, later, "rate_limited", count_attempt=False)
    assert await repos.deliveries.due("t", NOW, 10) == []
    assert await repos.deliveries.next_due_time("t") == later
    (again,) = await repos.deliveries.due("t", later, 10)
    assert again.attempts == 0 and again.last_error == "rate_limited"


async def test_media_store_is_content_addressed_and_atomic(tmp_path: Path) -> None:
    store = LocalMediaStore(tmp_path / "media")
    sha = await store.put_bytes(b"voix")
    assert await store.put_bytes(b"voix") == sha
    assert await store.read(sha) == b"voix"
    assert store.path(sha).name == sha
    assert not list((tmp_path / "media").rglob(".tmp-*"))
    with pytest.raises(ValueError):
        store.path("../../etc/passwd")
