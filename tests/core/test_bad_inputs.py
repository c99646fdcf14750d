"""Bad input gets a clear French answer and changes nothing, loses nothing."""

from __future__ import annotations

import math
import struct
import wave
from dataclasses import replace
from pathlib import Path

import pytest

from bot import admin
from bot.config import AudioSettings
from bot.ports import Attachment, ChatRef, MediaMessage, Sender
from bot.service import texts
from tests.core.harness import GROUP, Stage, eventually, sample

TEACHER = "maitresse"


def _wav(path: Path, seconds: float, rate: int, amplitude: float, width: int = 2) -> Path:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(width)
        w.setframerate(rate)
        frames = bytearray()
        for n in range(int(seconds * rate)):
            value = amplitude * math.sin(2 * math.pi * 220 * n / rate) * (1 + math.sin(n / 900)) / 2
            if width == 1:
                frames += struct.pack("<B", int(128 + 127 * value))
            else:
                frames += struct.pack("<h", int(32767 * value))
        w.writeframes(bytes(frames))
    return path


async def _ready(stage: Stage) -> None:
    await stage.setup_class(TEACHER)
    await stage.invite_parent(TEACHER, "Lina", "papa")


async def _unchanged(stage: Stage, before: dict[str, object]) -> None:
    await stage.publish()
    await stage.idle()
    after = await admin.status(stage.svc.ctx)
    for key in ("recordings", "albums", "families", "subscriptions"):
        assert after[key] == before[key], key
    assert stage.adapter.audio_to("papa") == []


async def _last_group_answer(stage: Stage) -> str:
    return stage.adapter.texts_to(GROUP)[-1]


FILE_CASES = [
    ("empty.wav", "vide"),
    ("not_audio.mp3", "pas un enregistrement"),
]


@pytest.mark.parametrize(("name", "expected"), FILE_CASES)
async def test_broken_sample_files(stage: Stage, name: str, expected: str) -> None:
    await _ready(stage)
    await stage.post_audio(TEACHER, sample(name))
    answer = await _last_group_answer(stage)
    assert expected in answer.lower() or expected in answer
    assert "Rien n'a été envoyé aux familles" in answer
    await stage.publish()
    await stage.idle()
    assert stage.adapter.audio_to("papa") == []


async def test_generated_bad_files(stage: Stage, tmp_path: Path) -> None:
    await _ready(stage)
    before = await admin.status(stage.svc.ctx)
    voice = sample("loup_groupe3_voice.ogg").read_bytes()
    cases = {
        "truncated.ogg": voice[:300],  # cut inside its header
        "document.pdf": b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer\n%%EOF\n",
        "silence.wav": _wav(tmp_path / "s.wav", 3, 16000, 0.0).read_bytes(),
        "image.png": b"\x89PNG\r\n\x1a\n" + b"\x00" * 200,
    }
    for name, data in cases.items():
        path = tmp_path / name
        path.write_bytes(data)
        count = len(stage.adapter.texts_to(GROUP))
        await stage.post_audio(TEACHER, path, kind="document")
        answer = stage.adapter.texts_to(GROUP)[count]
        assert "Rien n'a été envoyé aux familles" in answer, name
    failed = await admin.status(stage.svc.ctx)
    assert failed["recordings_by_state"] == {"failed": 4}
    await stage.publish()
    await stage.idle()
    assert stage.adapter.audio_to("papa") == []
    assert before["deliveries"] == (await admin.status(stage.svc.ctx))["deliveries"]


async def test_file_over_the_size_limit_is_refused_before_download(stage: Stage) -> None:
    await _ready(stage)
    before = await admin.status(stage.svc.ctx)
    await stage.adapter.push(
        MediaMessage(
            message_id="huge",
            chat=ChatRef(GROUP, is_direct=False),
            sender=Sender(TEACHER),
            attachment=Attachment("never-downloaded", "document", size=80 * 1024 * 1024),
        )
    )
    answer = await _last_group_answer(stage)
    assert "80 Mo" in answer and "MP3" in answer
    await _unchanged(stage, before)


async def test_too_long_a_recording(tmp_path: Path, database: str | None) -> None:
    stage = Stage(tmp_path / "data", database=database)
    from tests.core.harness import settings_for

    base = settings_for(tmp_path / "data", database)
    stage.settings = replace(base, audio=AudioSettings(max_minutes=0.05))  # 3 seconds
    await stage.start()
    try:
        await _ready(stage)
        await stage.post_audio(TEACHER, sample("loup_groupe2.mp3"))
        answer = await _last_group_answer(stage)
        assert "durée maximale" in answer and "Rien n'a été envoyé" in answer
    finally:
        await stage.stop()


async def test_odd_formats_and_file_names_are_accepted(stage: Stage, tmp_path: Path) -> None:
    await _ready(stage)
    odd = _wav(tmp_path / "../../etc/passwd é.wav".replace("/", "_"), 2.5, 11025, 0.6, width=1)
    await stage.post_audio(TEACHER, odd, kind="document", caption="Huit bits, 11 kHz")
    assert (await _last_group_answer(stage)).startswith("Rangé")
    await stage.publish()
    await eventually(lambda: len(stage.adapter.audio_to("papa")) == 1)
    media = stage.svc.ctx.settings.data_dir / "media"
    names = [p.name for p in media.rglob("*") if p.is_file()]
    assert names and all(len(n) == 64 for n in names)  # never a user's file name


COMMAND_CASES = [
    # (who, where, text, expected part of the answer)
    (TEACHER, GROUP, "/bonjour", "Je ne connais pas la commande /bonjour"),
    (TEACHER, GROUP, "/resume n'importe quand", "Pour changer : /resume vendredi 16:30"),
    (TEACHER, GROUP, "/consentement Lina peut-être", "/consentement Prénom oui"),
    (TEACHER, GROUP, "/invitation", "Donnez le prénom"),
    (TEACHER, GROUP, "/retirer", "Répondez à l'enregistrement"),
    (TEACHER, GROUP, "/annuler", "Je ne trouve pas d'enregistrement à annuler"),
    (TEACHER, GROUP, "/revoquer Personne", "Je ne trouve pas cet enfant"),
    (TEACHER, None, "/classe", "se tape dans le groupe de la classe"),
    ("papa", GROUP, "/frequence quotidien", "Seuls les enseignants"),
    ("papa", GROUP, "/start abcdefghijklmnopqrstuvwxyz", "écrivez-moi en privé"),
    ("papa", None, "/frequence toutes-les-heures", "Quand voulez-vous"),
    ("papa", None, "/ecouter abc", "Quel album"),
    ("papa", None, "/album Pirates", "Ce que vous pouvez me demander"),
]


@pytest.mark.parametrize(("who", "where", "text", "expected"), COMMAND_CASES)
async def test_wrong_commands_get_a_french_answer(
    stage: Stage, who: str, where: str | None, text: str, expected: str
) -> None:
    await _ready(stage)
    before = await admin.status(stage.svc.ctx)
    await stage.say(who, text, chat=where)
    answers = stage.adapter.texts_to(where or who)
    assert expected in answers[-1]
    await _unchanged(stage, before)


async def test_recording_sent_in_a_private_chat(stage: Stage) -> None:
    """A teacher's recording sent to the bot privately is not filed (she is
    told where to post it); a stranger's gets the polite answer; neither
    reaches a family."""
    await _ready(stage)
    before = await admin.status(stage.svc.ctx)
    await stage.post_audio(TEACHER, sample("loup_groupe3_voice.ogg"), direct=True)
    assert stage.adapter.texts_to(TEACHER)[-1] == texts.recording_in_direct()
    await stage.post_audio("inconnu", sample("loup_groupe3_voice.ogg"), direct=True)
    assert stage.adapter.texts_to("inconnu") == [texts.stranger()]
    await _unchanged(stage, before)
    assert (await admin.status(stage.svc.ctx))["recordings_by_state"] == {}
