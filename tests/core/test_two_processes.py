"""Two services on one PostgreSQL database, as two processes would be: only
the one holding the platform's account sends; when its connection holding
the lock is cut, it stops sending at once and the other one takes the
account over and sends what comes next."""

from __future__ import annotations

from pathlib import Path

import psycopg

from bot.leadership import DUTIES
from bot.service.context import Context
from storage.db import lock_key
from storage.postgres import CHECK_EVERY_S, CHECK_PATIENCE_S
from storage.repos.recordings import NewRecording, ProcessedFiles
from tests.core.harness import Stage, eventually
from tests.postgres_server import PostgresServer
from tests.seeding import class_with_held_recording


def cut_the_holder(url: str, name: str) -> int:
    """Terminate the server process holding the advisory lock of ``name``
    (the network between the holder and the database gone)."""
    key = lock_key(name) & 0xFFFF_FFFF_FFFF_FFFF
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' "
            "AND granted AND classid::bigint = %s AND objid::bigint = %s",
            (key >> 32, key & 0xFFFF_FFFF),
        ).fetchall()
    return len(rows)


async def _second_recording(ctx: Context, first_id: int) -> int:
    """Another prepared recording of the same class, held like the first."""
    rec = await ctx.repos.recordings.get(first_id)
    assert rec is not None and rec.voice_sha and rec.compat_sha
    new = await ctx.repos.recordings.create(
        NewRecording(
            album_id=rec.album_id,
            class_id=rec.class_id,
            title="Groupe 2",
            platform=rec.platform,
            source_chat_id=rec.source_chat_id,
            source_message_id="2",
            attachment_ref="unused",
            attachment_kind="voice",
            posted_by=rec.posted_by,
            is_private=False,
            private_child_id=None,
            tagged_child_ids=(),
        ),
        ctx.clock.now(),
    )
    assert new is not None
    files = ProcessedFiles(rec.voice_sha, rec.voice_sha, rec.compat_sha, "audio/mpeg", 10.0, ())
    assert await ctx.repos.recordings.set_processed(new.id, files, "held", None)
    return new.id


async def test_only_the_holder_sends_and_the_other_takes_over_when_it_is_cut(
    postgres: PostgresServer, tmp_path: Path
) -> None:
    url = postgres.fresh_database()
    data = tmp_path / "data"  # shared, as on a shared volume
    first, second = Stage(data, database=url), Stage(data, database=url)
    await first.start()
    await second.start()
    try:
        a, b = first.svc.ctx, second.svc.ctx
        assert "memory" in a.held and DUTIES in a.held
        assert "memory" in b.elsewhere and not b.held
        rec = await class_with_held_recording(a, ["1", "2", "3"], platform="memory")
        assert await a.repos.recordings.release_held(rec, first.clock.now())
        a.wake.publisher.set()
        b.wake.publisher.set()
        await eventually(lambda: len(first.adapter.audio_to_any()) == 3)
        assert second.adapter.audio_to_any() == []

        assert cut_the_holder(url, "memory") == 1
        await eventually(lambda: "memory" in b.held, CHECK_EVERY_S + CHECK_PATIENCE_S + 10)
        assert "memory" not in a.held
        assert not first.adapter.connected  # stopped receiving too

        # What comes next goes through the new holder only.
        rec2 = await _second_recording(b, rec)
        assert await b.repos.recordings.release_held(rec2, second.clock.now())
        b.wake.publisher.set()
        await eventually(lambda: len(second.adapter.audio_to_any()) == 3)
        assert len(first.adapter.audio_to_any()) == 3  # not one more from the cut one
    finally:
        await second.stop()
        await first.stop()
