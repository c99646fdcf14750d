"""A compiled recording (/ecouter, a digest of more than three) lists each
clip with where it starts, and the real compiled file agrees: the silence
between two clips is where the list says."""

from __future__ import annotations

import array
import re
import subprocess

import imageio_ffmpeg
import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.memory import plain
from bot.ports import OutboundMessage
from bot.service.captions import timestamp
from tests.core.digests_kit import audio_titles, class_with, paris, plan_at, settle
from tests.core.harness import Stage, eventually, sample

TEACHER = "maitresse"
RATE = 8000
DECODE = ("-ac", "1", "-ar", str(RATE), "-f", "s16le", "-")
LINE = re.compile(r"^(\d+):(\d\d) (.+)$")


@pytest.fixture
def database() -> None:
    """SQLite only: the list reads nothing that differs between backends."""
    return None


def pcm(data: bytes) -> array.array[int]:
    """The file decoded by ffmpeg: mono 16-bit samples at 8 kHz."""
    out = subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-i", "pipe:0", *DECODE],
        input=data,
        capture_output=True,
        check=True,
    ).stdout
    samples = array.array("h")
    samples.frombytes(out)
    return samples


def peak(samples: array.array[int], start_s: float, end_s: float) -> int:
    window = samples[int(start_s * RATE) : int(end_s * RATE)]
    return max((abs(v) for v in window), default=0)


def timed_lines(text: str) -> list[tuple[int, str]]:
    found = [LINE.match(line) for line in text.split("\n")]
    return [(int(m[1]) * 60 + int(m[2]), m[3]) for m in found if m]


def audio_message(stage: Stage, chat: str) -> OutboundMessage:
    (sent,) = stage.adapter.audio_to(chat)
    return sent.message


async def check_silent_gaps(message: OutboundMessage, starts: list[float], gap_s: float) -> None:
    """Just before each clip but the first, the compiled file is silent (the
    gap), so the clips start where the list says."""
    assert message.audio is not None
    samples = pcm(await message.audio.voice.load())
    loud = max(abs(v) for v in samples)
    for at in starts[1:]:
        assert peak(samples, at - gap_s + 0.15, at - 0.1) < loud / 20, at
        assert peak(samples, at, at + 1.0) > loud / 20, at  # and a clip plays there


async def prepared_starts(stage: Stage, gap_s: float) -> tuple[list[float], float]:
    """Where the album's clips start, from their prepared files' durations;
    and where the last one ends."""
    recs = await stage.svc.ctx.repos.recordings.published_in_album(1)
    durations = [r.duration_s or 0.0 for r in recs]
    starts = [sum(durations[:i]) + i * gap_s for i in range(len(durations))]
    return starts, starts[-1] + durations[-1]


async def three_recordings(stage: Stage) -> None:
    await stage.setup_class(TEACHER)
    await stage.invite_parent(TEACHER, "Lina", "papa_lina")
    await stage.invite_parent(TEACHER, "Tom", "maman_tom")
    await stage.post_audio(TEACHER, sample("loup_groupe2.mp3"), caption="Le loup #Lina")
    await stage.post_audio(TEACHER, sample("loup_groupe3_voice.ogg"), caption="La fin")
    await stage.post_audio(TEACHER, sample("petit_ours_memo.m4a"), caption="#Tom #Lina")
    await stage.publish()
    await stage.idle()


async def test_album_lists_each_clip_with_its_start(stage: Stage) -> None:
    await three_recordings(stage)
    before = len(stage.adapter.audio_to("papa_lina"))
    await stage.say("papa_lina", "/ecouter 1")
    message = stage.adapter.audio_to("papa_lina")[before].message
    assert message.audio is not None
    lines = message.text.split("\n")
    assert lines[0] == message.audio.title
    listed = timed_lines(message.text)
    assert [label for _at, label in listed] == [
        "Le loup — Lina",
        "La fin",
        "Enregistrement n°3 — Lina et Tom",
    ]
    # From the prepared files' durations, with the album's 1.5 s gaps.
    starts, end = await prepared_starts(stage, 1.5)
    assert [at for at, _label in listed] == [int(s) for s in starts]
    assert listed[0][0] == 0 and listed[1][0] > 0
    assert abs(end - message.audio.duration_s) < 0.3
    await check_silent_gaps(message, starts, 1.5)


async def test_a_compiled_digest_lists_its_clips(stage: Stage) -> None:
    await class_with(stage, papa="quotidien")
    for title in ("Un", "Deux", "Trois", "Quatre"):
        await stage.post_audio(TEACHER, sample("loup_groupe3_voice.ogg"), caption=title)
    await stage.post_audio(TEACHER, sample("loup_groupe2.mp3"), caption="Cinq #Enfant0")
    await stage.publish()
    assert await plan_at(stage, paris(2026, 11, 24, 18, 0)) == 1
    await eventually(lambda: bool(audio_titles(stage, "papa")))
    await settle(stage)
    message = audio_message(stage, "papa")
    assert plain(message.text).startswith("Résumé : 5 enregistrements\n0:00 Un\n")
    listed = timed_lines(message.text)
    assert [label for _at, label in listed] == ["Un", "Deux", "Trois", "Quatre", "Cinq — Enfant0"]
    assert message.audio is not None
    starts, end = await prepared_starts(stage, 1.0)
    assert [at for at, _label in listed] == [int(s) for s in starts]
    assert abs(end - message.audio.duration_s) < 0.3
    await check_silent_gaps(message, starts, 1.0)


@given(st.floats(min_value=0, max_value=50_000, allow_nan=False))
def test_timestamps_read_as_minutes_and_seconds(seconds: float) -> None:
    shown = timestamp(seconds)
    parts = [int(p) for p in shown.split(":")]
    total = parts[-1] + 60 * parts[-2] + (3600 * parts[0] if len(parts) == 3 else 0)
    assert total == int(seconds)
    assert all(p < 60 for p in parts[1:])
