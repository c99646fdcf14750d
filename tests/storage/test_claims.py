"""Preparing a recording is claimed by one process for a lease: another
process cannot take it while the lease runs, takes it once it has passed
(the first one died), and a finished recording is never claimed again."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from storage.db import Database
from storage.repos import Repositories
from storage.repos.recordings import Answer, NewRecording, ProcessedFiles
from tests.core.harness import eventually
from tests.storage.test_repositories import NOW, _class

LEASE = timedelta(seconds=30)


async def _received(repos: Repositories, class_id: int, msg: str) -> int:
    album, _ = await repos.albums.make_current(class_id, "Le loup", "le loup", NOW)
    rec = await repos.recordings.create(
        NewRecording(
            album.id, class_id, "t", "t", "g", msg, "ref", "voice", "t:x", False, None, ()
        ),
        NOW,
    )
    assert rec is not None and rec.state == "received"
    return rec.id


async def test_a_claim_keeps_others_out_until_its_lease_has_passed(repos: Repositories) -> None:
    class_id = await _class(repos)
    rec = await _received(repos, class_id, "m1")
    other = await _received(repos, class_id, "m2")
    recs = repos.recordings
    assert await recs.claim(rec, "host:1", NOW, NOW + LEASE)
    assert not await recs.claim(rec, "host:2", NOW + timedelta(seconds=5), NOW + LEASE)
    # The second process finds only what nobody works on.
    found = await recs.claim_unfinished("t", "host:2", NOW, NOW + LEASE)
    assert [r.id for r in found] == [other]
    assert await recs.claim_unfinished("t", "host:3", NOW, NOW + LEASE) == []
    # host:1 renews while its work goes on, host:2 does not (it died): after
    # the first lease, only host:2's job is taken over.
    assert await recs.renew_claims("host:1", NOW + 2 * LEASE) == 1
    later = NOW + LEASE + timedelta(seconds=1)
    taken = await recs.claim_unfinished("t", "host:3", later, later + 3 * LEASE)
    assert [r.id for r in taken] == [other]
    # host:1 died too: once its lease has passed, its job is taken over.
    dead = NOW + 2 * LEASE + timedelta(seconds=1)
    taken = await recs.claim_unfinished("t", "host:4", dead, dead + LEASE)
    assert [r.id for r in taken] == [rec]
    assert not await recs.claim(rec, "host:1", dead, dead + LEASE)
    # Finished: nobody claims it again.
    files = ProcessedFiles("a" * 64, "b" * 64, "c" * 64, "audio/mpeg", 3.0, (1, 2))
    assert await recs.set_processed(rec, files, "waiting", NOW)
    end = dead + 3 * LEASE
    assert [r.id for r in await recs.claim_unfinished("t", "host:5", end, end + LEASE)] == [other]
    # The only process of a SQLite file forgets every claim at start.
    await recs.release_claims()
    assert await recs.claim(other, "host:6", NOW, NOW + LEASE)


async def test_a_stored_original_is_any_processs_to_convert_and_its_answer_waits(
    repos: Repositories,
) -> None:
    """The account's holder stores the original and lets go of it; any
    process claims the conversion (one at a time, a dead one's after its
    lease); the outcome carries the teacher's answer until the holder sent it."""
    class_id = await _class(repos)
    rec = await _received(repos, class_id, "m1")
    other = await _received(repos, class_id, "m2")
    recs = repos.recordings
    assert await recs.claim(rec, "holder:1", NOW, NOW + LEASE)
    assert await recs.hand_over(rec, "a" * 64)
    # The holder's own look for downloads to do skips it: not a download any more.
    found = await recs.claim_unfinished("t", "holder:1", NOW, NOW + LEASE, downloads_only=True)
    assert [r.id for r in found] == [other]
    # Converting needs a stored original: only ``rec`` is offered, to one process.
    taken = await recs.claim_originals(["t"], "p:2", NOW, NOW + LEASE, 5)
    assert [(r.id, r.original_sha) for r in taken] == [(rec, "a" * 64)]
    assert await recs.claim_originals(["t"], "p:3", NOW, NOW + LEASE, 5) == []
    assert await recs.claim_originals(["autre"], "p:3", NOW + 2 * LEASE, NOW + 3 * LEASE, 5) == []
    assert await recs.in_preparation() == [(rec, "p:2"), (other, "holder:1")]
    # p:2 died: once its lease has passed, p:3 takes the job over.
    later = NOW + LEASE + timedelta(seconds=1)
    assert [r.id for r in await recs.claim_originals(["t"], "p:3", later, later + LEASE, 1)] == [
        rec
    ]
    files = ProcessedFiles("a" * 64, "b" * 64, "c" * 64, "audio/mpeg", 3.0, (1, 2))
    answer = Answer("Rangé dans l'album", True, "p:3")
    assert await recs.set_processed(rec, files, "waiting", NOW, answer=answer)
    assert not await recs.set_processed(rec, files, "waiting", NOW, answer=answer)
    assert await repos.db.fetchval("SELECT prepared_by FROM recordings WHERE id = $1", rec) == (
        "p:3"
    )
    assert await recs.claim_originals(["t"], "p:4", later, later + LEASE, 5) == []
    # Refused: stored with its answer, once.
    refusal = Answer("Trop long.", False, "holder:1")
    assert await recs.refuse(other, "too_long", refusal)
    assert not await recs.refuse(other, "too_long", refusal)
    due = await recs.answers_due("t")
    assert [(d.recording_id, d.text, d.choices, d.reply_to) for d in due] == [
        (rec, "Rangé dans l'album", True, "m1"),
        (other, "Trop long.", False, "m2"),
    ]
    assert await recs.answers_due("autre") == []
    # Sent: cleared, and the answer's message leads back to its recording.
    await recs.answered(rec, "r9")
    await recs.answered(other, None)
    assert await recs.answers_due("t") == []
    found_rec = await recs.by_message("t", "g", "r9")
    assert found_rec is not None and found_rec.id == rec


async def test_news_reach_every_process_on_postgresql(db: Database) -> None:
    """An original stored or an answer due is told to every process
    (PostgreSQL's NOTIFY); one process alone (SQLite) has no one to tell."""
    heard: list[str] = []
    listening = asyncio.create_task(db.watch("petites_voix_test", heard.append))
    try:
        if db.single_process:
            await asyncio.wait_for(listening, 1)  # nothing to listen to
            await db.notify("petites_voix_test", "original")
            assert heard == []
            return
        # Listening: it says so once (what came before is looked for).
        await eventually(lambda: heard == [""])
        await db.notify("petites_voix_test", "original")  # from a pooled connection
        await eventually(lambda: heard == ["", "original"])
    finally:
        listening.cancel()
        await asyncio.gather(listening, return_exceptions=True)
