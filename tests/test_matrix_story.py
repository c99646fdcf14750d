"""The whole story through the real service on a real homeserver: the same
script as ``make demo`` (teacher, class room, invitations, two parents,
two recordings), asserted from what each person's client received."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.demo import run_demo

pytestmark = pytest.mark.synapse


async def test_recordings_reach_both_parents_encrypted_as_voice_messages(
    tmp_path: Path,
) -> None:
    lines: list[str] = []
    result = await run_demo(tmp_path / "demo", say=lines.append)

    assert set(result.saved) == {"Papa de Lina", "Maman de Tom"}
    for parent, files in result.saved.items():
        assert len(files) == 2, parent
        # The phone voice note has no caption: it is n°1; then the WAV's "Groupe 2".
        assert ["Enregistrement n 1" in files[0].name, "Groupe 2" in files[1].name] == [True, True]
        for path in files:
            data = path.read_bytes()
            assert data[:4] == b"OggS" and b"OpusHead" in data[:64], path
    # The WAV from Audacity was prepared as Opus like the voice note.
    assert all(p.suffix == ".ogg" for files in result.saved.values() for p in files)

    # The voice note was tagged after posting, by a reply on the homeserver.
    assert any("parle : Lina et Tom" in t for t in result.teacher_saw)
    filed = [t for t in result.teacher_saw if t.startswith("Rangé")]
    assert len(filed) == 2
    assert all("Le loup qui voulait changer de couleur" in t for t in filed)
    # The output names the folder holding what the families received.
    assert any(str(result.received_dir) in line for line in lines)
    # The family that chose e-mail confirmed its address, then got each recording.
    email = [line for line in lines if "maman.zoe@example.org" in line or "      « " in line]
    assert any("confirmez votre adresse" in line for line in email)
    # ... through the service's own pages: the form, then the link's button.
    assert any("la page répond : Vérifiez votre messagerie" in line for line in lines)
    assert any("elle appuie sur le bouton : C'est fait !" in line for line in lines)
    assert sum("« MS-GS : nouvel enregistrement" in line for line in lines) == 2
    assert lines[-1] == "Service, serveur Matrix et serveur de messagerie arrêtés."
    # The family that chose "just this page" sees both recordings there.
    assert result.page_url.startswith("http://127.0.0.1:") and "/f/" in result.page_url
    # (the voice note has no caption: the page names it by its number)
    assert set(result.page_titles) == {"Enregistrement n°1", "Groupe 2"}
    assert any(result.page_url in line for line in lines)
