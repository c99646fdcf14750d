"""Media in an S3 bucket, end to end, against moto's server: a STAND-IN for
a real S3-compatible store (Garage, Ceph RGW), none of which installs here.

A recording posted by the teacher is prepared from a local temporary copy,
stored in the bucket (listed by the tests' own S3 client), delivered to the
parent, played on the family's page with a Range request, compiled with the
album; after the family is erased nothing of it is left in the bucket, nor
on the local disk. Retention and the end of the school year empty the
bucket too."""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot import admin
from bot.config import RetentionSettings, WebSettings
from bot.media_store import media_key
from bot.service.retention import Retention
from bot.service.year_end import YearEnd
from bot.web.server import build_app
from bot.web.services import WebServices
from tests.core.digests_kit import CLIP, paris, settle
from tests.core.harness import GROUP, Stage, eventually, sample, settings_for
from tests.s3_standin import MotoS3StandIn

TEACHER = "maitresse"
PARENT = "parent-lina"


def _stage(tmp_path: Path, moto_s3: MotoS3StandIn, retention: RetentionSettings) -> Stage:
    data = tmp_path / "data"
    settings = replace(
        settings_for(data),
        s3=moto_s3.new_bucket(prefix="ecole-du-lac"),
        web=WebSettings("https://voix.example.org", "127.0.0.1", 0),
        retention=retention,
    )
    return Stage(data, settings=settings)


@pytest.fixture
async def stage(
    tmp_path: Path, moto_s3: MotoS3StandIn, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Stage]:
    # Every temporary copy made for ffmpeg lands here, to be looked at after.
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    s = _stage(tmp_path, moto_s3, RetentionSettings())
    await s.start()
    yield s
    await s.stop()


def _objects(moto_s3: MotoS3StandIn, stage: Stage) -> list[str]:
    assert stage.settings is not None and stage.settings.s3 is not None
    return moto_s3.keys(stage.settings.s3.bucket)


async def test_a_recording_lives_in_the_bucket_and_leaves_it_with_the_family(
    stage: Stage, moto_s3: MotoS3StandIn, tmp_path: Path
) -> None:
    await stage.setup_class(TEACHER)
    await stage.invite_parent(TEACHER, "Lina", PARENT)
    await stage.say(TEACHER, "/consentement Lina oui", chat=GROUP)
    await stage.post_audio(
        TEACHER, sample("loup_groupe2.mp3"), caption="Pour la maison #prive #Lina"
    )
    await stage.publish()
    await eventually(lambda: len(stage.adapter.audio_to(PARENT)) == 1)

    ctx = stage.svc.ctx
    (rec,) = await ctx.repos.recordings.published_in_album(
        (await ctx.repos.albums.current(1)).id  # type: ignore[union-attr]
    )
    assert rec.original_sha and rec.voice_sha and rec.compat_sha
    shas = {rec.original_sha, rec.voice_sha, rec.compat_sha}
    assert _objects(moto_s3, stage) == sorted(f"ecole-du-lac/{media_key(s)}" for s in shas)
    # Nothing on the local disk: no media folder, no temporary copy left.
    assert not (stage.data_dir / "media").exists()
    assert list((tmp_path / "tmp").iterdir()) == []
    # The parent received the bytes that are in the bucket.
    sent = stage.adapter.audio_to(PARENT)[0].message.audio
    assert sent is not None and sent.voice.ref == rec.voice_sha
    in_bucket = (
        moto_s3.client()
        .get_object(
            Bucket=stage.settings.s3.bucket,  # type: ignore[union-attr]
            Key=f"ecole-du-lac/{media_key(rec.compat_sha)}",
        )["Body"]
        .read()
    )
    assert await sent.compat.load() == in_bucket

    # The family's page plays it from the bucket, by range, as an iPhone asks.
    services = WebServices.build(ctx)
    child_id = (await ctx.repos.families.children_of_class(1))[0].id
    page = f"/f/{await services.pages.token_for(child_id)}"
    async with TestClient(TestServer(build_app(services))) as client:
        first = await client.get(f"{page}/audio/{rec.id}.mp3", headers={"Range": "bytes=0-1"})
        assert first.status == 206
        assert first.headers["Content-Range"] == f"bytes 0-1/{len(in_bucket)}"
        assert await first.read() == in_bucket[:2]
        rest = await client.get(f"{page}/audio/{rec.id}.mp3", headers={"Range": "bytes=100-"})
        assert rest.status == 206 and await rest.read() == in_bucket[100:]
        head = await client.head(f"{page}/audio/{rec.id}.mp3")
        assert head.status == 200 and int(head.headers["Content-Length"]) == len(in_bucket)
        # A listen on the page is counted; a made-up token gets nothing.
        assert (await client.post(f"{page}/ecoute/{rec.id}")).status == 204
        assert await ctx.repos.listens.children(rec.id, "listened") == {child_id}
        stranger = await client.get(f"/f/{'x' * 43}/audio/{rec.id}.mp3")
        assert stranger.status == 404

        # The whole album as one recording: compiled from copies, stored too.
        await stage.say(PARENT, "/ecouter 1")
        await eventually(lambda: len(stage.adapter.audio_to(PARENT)) == 2)
        mixes = await ctx.repos.db.fetch("SELECT voice_sha, compat_sha FROM mixes")
        assert mixes and len(_objects(moto_s3, stage)) == len(shas) + 2 * len(mixes)
        assert list((tmp_path / "tmp").iterdir()) == []

        target = admin.FamilyTarget(class_name="MS-GS", child="lina")
        assert (await admin.erase_family(ctx, target))["erased_child"] is True
        assert _objects(moto_s3, stage) == []  # nothing of Lina is left in the bucket
        gone = await client.get(f"{page}/audio/{rec.id}.mp3", headers={"Range": "bytes=0-1"})
        assert gone.status == 404


async def _two_recordings_delivered(stage: Stage, moto_s3: MotoS3StandIn) -> int:
    """How many files the bucket holds for them."""
    await stage.setup_class(TEACHER)
    await stage.invite_parent(TEACHER, "Lina", PARENT)
    await stage.post_audio(TEACHER, sample(CLIP), caption="Lina raconte #Lina")
    await stage.post_audio(TEACHER, sample(CLIP), caption="Toute la classe")
    await stage.publish()
    await eventually(lambda: len(stage.adapter.audio_to(PARENT)) == 2)
    rows = await stage.svc.ctx.repos.db.fetch(
        "SELECT original_sha, voice_sha, compat_sha FROM recordings"
    )
    files = {sha for row in rows for sha in row}
    assert _objects(moto_s3, stage) == sorted(f"ecole-du-lac/{media_key(f)}" for f in files)
    return len(files)


async def test_retention_deletes_the_old_recordings_from_the_bucket(
    tmp_path: Path, moto_s3: MotoS3StandIn
) -> None:
    stage = _stage(tmp_path, moto_s3, RetentionSettings(keep_days=30))
    await stage.start()
    try:
        files = await _two_recordings_delivered(stage, moto_s3)
        assert await Retention(stage.svc.ctx).sweep() == 0  # nothing old yet
        assert len(_objects(moto_s3, stage)) == files
        stage.clock.advance(31 * 24 * 3600)
        assert await Retention(stage.svc.ctx).sweep() > 0
        assert _objects(moto_s3, stage) == []
    finally:
        await stage.stop()


async def test_closing_the_year_leaves_the_bucket_empty(
    tmp_path: Path, moto_s3: MotoS3StandIn
) -> None:
    stage = _stage(tmp_path, moto_s3, RetentionSettings(school_year_end=(7, 3)))
    await stage.start()
    try:
        files = await _two_recordings_delivered(stage, moto_s3)
        stage.clock.set(paris(2027, 7, 3, 9))
        first = await YearEnd(stage.svc.ctx).close(dry_run=False)
        assert first["state"] == "waiting_for_keepsakes"
        await settle(stage)  # the keepsake: the year as one recording, built from the bucket
        assert len(_objects(moto_s3, stage)) > files
        report = await YearEnd(stage.svc.ctx).close(dry_run=False)
        assert report["state"] == "closed", report
        assert _objects(moto_s3, stage) == []
    finally:
        await stage.stop()


async def test_files_left_on_the_disk_after_a_move_to_s3_are_named_in_the_log(
    tmp_path: Path, moto_s3: MotoS3StandIn, caplog: pytest.LogCaptureFixture
) -> None:
    for left in ([], [f"ab/{'ab' * 32}"]):
        for name in left:
            (tmp_path / "data" / "media" / name).parent.mkdir(parents=True)
            (tmp_path / "data" / "media" / name).write_bytes(b"avant")
        caplog.clear()
        stage = _stage(tmp_path, moto_s3, RetentionSettings())
        await stage.start()
        await stage.stop()
        warned = [r for r in caplog.records if "data_dir/media still holds files" in r.message]
        assert len(warned) == len(left)
