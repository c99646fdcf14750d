"""``admin copy-storage``: a SQLite installation with every kind of row,
copied into the tests' PostgreSQL by the operator command; the counts match,
and the service started on the copy goes on (a parent still receives)."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from adapters.memory import MemoryAdapter
from bot.media_store import media_key
from bot.service.thanks import Thanks
from storage.db import Database
from tests.core.digests_kit import class_with, paris, plan_at, post, settle
from tests.core.harness import GROUP, Stage, eventually, sample, settings_for
from tests.postgres_server import PostgresServer
from tests.s3_standin import MotoS3StandIn
from tests.service_process import REPO

TEACHER = "maitresse"


async def _installation(stage: Stage) -> None:
    """Every table gets rows: class, staff, channel, families, invitations,
    consent and tags, recordings, deliveries, uploads, digests, a compiled
    album, the audit log, a wrong code, the platform's status, a family's own
    consent answer and a chat to leave."""
    await class_with(stage, papa="immediat", mamie="quotidien")
    await stage.say(TEACHER, "/consentement Enfant0 oui", chat=GROUP)
    await post(stage, "#Enfant0 Groupe 1", "Groupe 2")
    await stage.publish()
    await eventually(lambda: len(stage.adapter.audio_to("papa")) == 2)
    assert await plan_at(stage, paris(2026, 11, 24, 18, 0)) == 1
    await settle(stage)
    await stage.say("papa", "/ecouter 1")
    await eventually(lambda: len(stage.adapter.audio_to("papa")) == 3)
    await stage.say("inconnu", "/start ABCDEFGHIJKLMNOPQRSTUVWXYZ")
    await stage.say("papa", "/consentement oui")  # the family's own answer
    await settle(stage)
    # A chat to leave, as an erasure made while the service was stopped leaves.
    await stage.svc.ctx.repos.leaving.add("telegram", "-1009")
    # A family page (its salt and hash) and a listen counted on it.
    repos, now = stage.svc.ctx.repos, stage.svc.ctx.clock.now()
    child = (
        await repos.families.subscriptions_of_guardian(
            (await repos.families.guardian_by_user("memory", "papa")).id  # type: ignore[union-attr]
        )
    )[0].child_id
    await repos.pages.create(child, "sel", "0" * 64, now)
    recording = (
        await repos.recordings.published_in_album(
            (await repos.albums.current((await repos.families.get_child(child)).class_id)).id  # type: ignore[union-attr]
        )
    )[0]
    await repos.listens.record(recording.id, child, "listened", now)
    # An address from the ONDE responsables export, and a notice for a teacher.
    await repos.email_contacts.add(child, "parent@example.org", now, now)
    await repos.db.execute(
        "INSERT INTO teacher_notices (platform, chat_id, text, created_at) VALUES ($1, $2, $3, $4)",
        "memory",
        "maitresse",
        "Bonne rentrée !",
        "2026-09-01T08:00:00+00:00",
    )
    # The holder of an account, as a process killed while running leaves it.
    await repos.holders.took("telegram:123", "ecole:4242", now)
    # A parent's thanks, not yet counted in the teacher's morning line (today's
    # line written first, so that it stays uncounted until tomorrow's).
    await Thanks(stage.svc.ctx).tick()
    class_id = (await repos.families.get_child(child)).class_id  # type: ignore[union-attr]
    await repos.thanks.add(class_id, child, now)


async def _counts(db: Database, tables: list[str]) -> dict[str, int]:
    return {t: int(await db.fetchval(f'SELECT COUNT(*) FROM "{t}"')) for t in tables}


@pytest.mark.parametrize("media", ["local directory", "s3 (moto stand-in)"])
async def test_copy_storage_then_the_service_runs_on_the_copy(
    tmp_path: Path, postgres: PostgresServer, moto_s3: MotoS3StandIn, media: str
) -> None:
    data = tmp_path / "data"
    first = Stage(data)
    await first.start()
    try:
        await _installation(first)
    finally:
        await first.stop()

    source = await Database.open(data / "petites-voix.sqlite3")
    tables = [
        r[0]
        for r in await source.fetch(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name <> 'schema_version'"
        )
    ]
    before = await _counts(source, tables)
    await source.close()
    assert all(before.values()), f"a table without rows: {before}"

    config = tmp_path / "petites-voix.toml"
    config.write_text(f'[storage]\ndata_dir = "{data}"\n', encoding="utf-8")
    s3 = moto_s3.new_bucket() if media != "local directory" else None
    if s3 is not None:
        # The operator sets the bucket first; the secret comes from the environment.
        config.write_text(
            f'[storage]\ndata_dir = "{data}"\nmedia = "s3://{s3.bucket}/{s3.prefix}"\n'
            f'[s3]\nendpoint_url = "{s3.endpoint_url}"\nregion = "{s3.region}"\n'
            f'access_key_id = "{s3.access_key_id}"\n',
            encoding="utf-8",
        )
    env = {**os.environ, "S3_SECRET_ACCESS_KEY": s3.secret_access_key or ""} if s3 else None
    url = postgres.fresh_database(migrated=False)
    command = [sys.executable, "-m", "bot", "admin", "copy-storage", "--config", str(config)]
    copied = await asyncio.create_subprocess_exec(
        *command, "--to", url, "--json", cwd=REPO, stdout=asyncio.subprocess.PIPE, env=env
    )
    out, _ = await copied.communicate()
    assert copied.returncode == 0
    result = json.loads(out)
    assert result["tables"] == before
    files = sorted(p.name for p in (data / "media").glob("??/*"))
    if s3 is not None:
        assert result["media"] == {
            "files": len(files),
            "copied": len(files),
            "store": f"s3://{s3.bucket}/{s3.prefix}",
        }
        keys = moto_s3.keys(s3.bucket)
        assert keys == sorted(f"{s3.prefix}/{media_key(f)}" for f in files) and keys
    else:
        assert result["media"] is None

    # A second copy into the same database refuses, and says why in French.
    again = await asyncio.create_subprocess_exec(
        *command, "--to", url, cwd=REPO, stderr=asyncio.subprocess.PIPE, env=env
    )
    _, err = await again.communicate()
    assert again.returncode == 1 and "n'est pas vide" in err.decode()

    target = await Database.open(url)
    try:
        assert await _counts(target, tables) == before
    finally:
        await target.close()

    second = Stage(data, database=url, adapter=MemoryAdapter(), clock=first.clock)
    if s3 is not None:  # the local media folder is out of the way: only the bucket serves
        shutil.move(data / "media", tmp_path / "media-sauvegarde")
        second.settings = replace(settings_for(data, url), s3=s3)
    second.clock.set(paris(2026, 11, 25, 9, 0))
    await second.start()
    try:
        await second.post_audio(TEACHER, sample("loup_groupe2.mp3"), caption="Après la copie")
        await second.publish()
        await eventually(lambda: len(second.adapter.audio_to("papa")) == 1)
        title = second.adapter.audio_to("papa")[0].message.audio.title  # type: ignore[union-attr]
        assert title.endswith("Après la copie")
        # New rows take ids after the copied ones.
        recordings = await second.svc.ctx.repos.db.fetch("SELECT id FROM recordings ORDER BY id")
        assert [r[0] for r in recordings] == [1, 2, 3]
        # The whole album, old recordings and new, compiled from the store.
        await second.say("papa", "/ecouter 1")
        await eventually(lambda: len(second.adapter.audio_to("papa")) == 2)
        assert "3 enregistrements" in second.adapter.audio_to("papa")[-1].message.audio.title  # type: ignore[union-attr]
    finally:
        await second.stop()


async def test_copy_storage_explains_the_config_change_in_french(
    tmp_path: Path, postgres: PostgresServer
) -> None:
    data = tmp_path / "data"
    db = await Database.open(data / "petites-voix.sqlite3")
    await db.close()
    config = tmp_path / "petites-voix.toml"
    config.write_text(f'[storage]\ndata_dir = "{data}"\n', encoding="utf-8")
    url = postgres.fresh_database().replace("postgres@", "postgres:secret@")
    proc = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "bot", "admin", "copy-storage", "--config", str(config)),
        *("--to", url),
        cwd=REPO,
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await proc.communicate()
    text = out.decode()
    assert proc.returncode == 0, text
    assert "Copie terminée" in text and "[storage]" in text and "database = " in text
    assert "secret" not in text  # a password never printed
