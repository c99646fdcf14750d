"""The guide's restore procedure, played: a backup taken while the service
runs, restored into an empty data dir, serves the same families."""

from __future__ import annotations

import shutil
from pathlib import Path

from bot import admin_backup
from tests.core.harness import GROUP, Stage, eventually, sample

TEACHER = "maitresse"


async def test_a_restored_backup_serves_the_same_families(tmp_path: Path) -> None:
    before = Stage(tmp_path / "ancien")
    await before.start()
    try:
        await before.setup_class(TEACHER)
        await before.invite_parent(TEACHER, "Lina", "papa_lina")
        await before.post_audio(TEACHER, sample("loup_groupe2.mp3"), caption="Groupe 1")
        await before.publish()
        await eventually(lambda: len(before.adapter.audio_to("papa_lina")) == 1)
        # While the service runs, as an operator would.
        copy = tmp_path / "sauvegarde.sqlite3"
        await admin_backup.backup(before.svc.ctx, copy)
        # The guide: the media folder is copied after the database.
        shutil.copytree(before.data_dir / "media", tmp_path / "media-copie")
    finally:
        await before.stop()

    # Restore: an empty data dir, the backup as its database, the media back.
    restored = tmp_path / "nouveau"
    restored.mkdir()
    shutil.copy(copy, restored / "petites-voix.sqlite3")
    shutil.copytree(tmp_path / "media-copie", restored / "media")
    after = Stage(restored)
    after.clock = before.clock  # the same moment: nothing else falls due
    await after.start()
    try:
        # The teacher is still the class's teacher, the group still bound.
        await after.post_audio(TEACHER, sample("loup_groupe3_voice.ogg"), caption="Groupe 2")
        assert any("Groupe 2" in t for t in after.adapter.texts_to(GROUP))
        await after.publish()
        await eventually(lambda: len(after.adapter.audio_to("papa_lina")) == 1)
        # Only the new one: the first is known as sent, not sent again.
        (sent,) = after.adapter.audio_to("papa_lina")
        assert sent.message.audio is not None and sent.message.audio.title.endswith("Groupe 2")
        # The first recording, from before the backup, plays from the restored media.
        await after.say("papa_lina", "/ecouter 1")
        await eventually(lambda: len(after.adapter.audio_to("papa_lina")) == 2)
    finally:
        await after.stop()
