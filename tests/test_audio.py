"""The audio pipeline against real ffmpeg and real recordings."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import imageio_ffmpeg
import pytest
from pydub import AudioSegment
from pydub.generators import Sine

from bot.audio import AudioLimits, AudioPipeline, AudioRejected, PreparedAudio

FFMPEG = imageio_ffmpeg.get_ffmpeg_exe()
TARGET_LUFS = -19.0

# A voiced, syllabic signal: a gliding 160 Hz voice with two harmonics,
# six syllables a second, a pause of 0.6 s every 3 s.
_F0 = "(160+30*sin(2*PI*0.7*t))"
_SPEECH = (
    f"(sin(2*PI*{_F0}*t)+0.5*sin(4*PI*{_F0}*t)+0.3*sin(6*PI*{_F0}*t))"
    "*pow(max(0,sin(2*PI*3*t)),2)*lt(mod(t,3),2.4)*0.3"
)


def _find_samples() -> Path:
    """The class recordings kept with the tests (a copy of the shared samples),
    or another folder named by $PETITES_VOIX_SAMPLES."""
    env = os.environ.get("PETITES_VOIX_SAMPLES")
    return Path(env) if env else Path(__file__).resolve().parent / "samples"


SAMPLES = _find_samples()
needs_samples = pytest.mark.skipif(not SAMPLES.is_dir(), reason="no sample folder")


def sample(name: str) -> Path:
    assert SAMPLES is not None
    return SAMPLES / name


def ffmpeg(*args: str) -> str:
    """Runs ffmpeg, returns its stderr."""
    done = subprocess.run(
        [FFMPEG, "-hide_banner", "-nostdin", "-nostats", *args],
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stderr


def speech_file(
    path: Path,
    codec_args: list[str],
    seconds: float = 4.0,
    rate: int = 44100,
    lead_s: float = 1.0,
    tail_s: float = 1.5,
    gain_db: float = 0.0,
    channels: int = 1,
) -> Path:
    """Speech-like sound framed by silence, encoded with ``codec_args``."""
    exprs = "|".join([_SPEECH] * channels)
    err = ffmpeg(
        "-y",
        "-f", "lavfi", "-i", f"aevalsrc=exprs='{exprs}':s={rate}:d={seconds}",
        "-af", f"volume={gain_db}dB,adelay={int(lead_s * 1000)}:all=1,apad=pad_dur={tail_s}",
        *codec_args,
        str(path),
    )  # fmt: skip
    assert path.exists() and path.stat().st_size > 0, err
    return path


def audio_info(path: Path) -> tuple[str, int, float]:
    """(codec, channels, decoded duration in seconds) of a file's first stream."""
    err = ffmpeg("-i", str(path), "-map", "0:a:0", "-f", "null", "-")
    stream = re.search(r"Stream #0:0.*?: Audio: (\w+).*?, (\d+) Hz, (mono|stereo)", err)
    assert stream, err
    times = re.findall(r"time=(\d+):(\d+):([\d.]+)", err)
    assert times, err
    h, m, s = times[-1]
    duration = int(h) * 3600 + int(m) * 60 + float(s)
    return stream.group(1), 1 if stream.group(3) == "mono" else 2, duration


def loudness(path: Path) -> float:
    err = ffmpeg("-i", str(path), "-af", "ebur128=framelog=quiet", "-f", "null", "-")
    found = re.findall(r"I:\s+(-?[\d.]+) LUFS", err)
    assert found, err
    return float(found[-1])


def assert_playable(prepared: PreparedAudio) -> float:
    """Both files decode cleanly, are mono, and last ``duration_s``."""
    codec, channels, duration = audio_info(prepared.voice_path)
    assert (codec, channels) == ("opus", 1)
    assert prepared.voice_path.read_bytes()[:4] == b"OggS"
    assert abs(duration - prepared.duration_s) < 0.1
    codec, channels, compat_duration = audio_info(prepared.compat_path)
    assert (codec, channels) == ("mp3", 1)
    assert prepared.compat_mime == "audio/mpeg"
    assert abs(compat_duration - prepared.duration_s) < 0.1
    for path in (prepared.voice_path, prepared.compat_path):
        assert ffmpeg("-v", "error", "-i", str(path), "-f", "null", "-") == ""
    wave = prepared.waveform
    assert 1 <= len(wave) <= 100
    assert all(0 <= v <= 1023 for v in wave) and max(wave) == 1023
    return duration


@pytest.fixture
def pipeline() -> AudioPipeline:
    return AudioPipeline(ffmpeg=FFMPEG)


@pytest.fixture
def pydub_ffmpeg(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(AudioSegment, "converter", FFMPEG)
    yield


# --------------------------------------------------------------------------
# The class's real recordings
# --------------------------------------------------------------------------


@needs_samples
@pytest.mark.parametrize(
    ("name", "speech_s"),
    [
        ("loup_groupe1_audacity.wav", 9.85),
        ("loup_groupe2.mp3", 5.79),
        ("loup_groupe3_voice.ogg", 4.27),
        ("petit_ours_memo.m4a", 4.96),
        ("loup_quiet.wav", 7.85),
    ],
)
async def test_class_recordings_become_voice_notes_at_one_loudness(
    pipeline: AudioPipeline, tmp_path: Path, name: str, speech_s: float
) -> None:
    prepared = await pipeline.prepare(sample(name), tmp_path / "out")
    duration = assert_playable(prepared)
    assert 1.0 < duration <= speech_s + 0.1
    assert abs(loudness(prepared.voice_path) - TARGET_LUFS) < 1.5
    assert abs(loudness(prepared.compat_path) - TARGET_LUFS) < 1.5


@needs_samples
async def test_quiet_take_sounds_as_loud_as_a_normal_one(
    pipeline: AudioPipeline, tmp_path: Path
) -> None:
    quiet = await pipeline.prepare(sample("loup_quiet.wav"), tmp_path / "quiet")
    normal = await pipeline.prepare(sample("loup_groupe1_audacity.wav"), tmp_path / "normal")
    before = loudness(sample("loup_quiet.wav"))
    after = loudness(quiet.voice_path)
    assert after - before > 25  # the source is around -52 LUFS
    assert abs(after - loudness(normal.voice_path)) < 2.0


@needs_samples
async def test_audacity_export_loses_its_leading_and_trailing_silence(
    pipeline: AudioPipeline, tmp_path: Path
) -> None:
    # The file opens on 1 s of silence and ends on 1.45 s of it.
    prepared = await pipeline.prepare(sample("loup_groupe1_audacity.wav"), tmp_path)
    assert 7.2 < prepared.duration_s < 8.4


@needs_samples
async def test_truncated_voice_note_keeps_the_audio_that_survived(
    pipeline: AudioPipeline, tmp_path: Path
) -> None:
    # ffmpeg salvages one second of real speech: better sent than refused.
    prepared = await pipeline.prepare(sample("truncated_voice.ogg"), tmp_path)
    assert 0.8 < assert_playable(prepared) < 1.1


@needs_samples
@pytest.mark.parametrize(("name", "code"), [("empty.wav", "empty"), ("not_audio.mp3", "not_audio")])
async def test_broken_class_files_are_refused_with_a_reason(
    pipeline: AudioPipeline, tmp_path: Path, name: str, code: str
) -> None:
    with pytest.raises(AudioRejected) as refused:
        await pipeline.prepare(sample(name), tmp_path / "out")
    assert refused.value.code == code
    assert not any((tmp_path / "out").glob("*")) if (tmp_path / "out").exists() else True


# --------------------------------------------------------------------------
# Whatever ffmpeg decodes
# --------------------------------------------------------------------------

FORMATS = {
    "wav_8k_u8.wav": (["-c:a", "pcm_u8"], 8000),
    "wav_96k_s24.wav": (["-c:a", "pcm_s24le"], 96000),
    "wav_48k_s32.wav": (["-c:a", "pcm_s32le"], 48000),
    "wav_float.wav": (["-c:a", "pcm_f32le"], 44100),
    "speech.flac": (["-c:a", "flac"], 44100),
    "speech.webm": (["-c:a", "libopus", "-b:a", "48k"], 48000),
    "speech_vorbis.ogg": (["-c:a", "libvorbis"], 44100),
    "speech.m4a": (["-c:a", "aac", "-b:a", "96k"], 44100),
    "speech.mp3": (["-c:a", "libmp3lame", "-b:a", "128k"], 44100),
}


@pytest.mark.parametrize("name", sorted(FORMATS))
async def test_any_format_is_trimmed_to_its_speech(
    pipeline: AudioPipeline, tmp_path: Path, name: str
) -> None:
    codec_args, rate = FORMATS[name]
    source = speech_file(tmp_path / name, codec_args, seconds=4.0, rate=rate, channels=2)
    prepared = await pipeline.prepare(source, tmp_path / "out")
    duration = assert_playable(prepared)
    # 4 s of speech between 1 s and 1.5 s of silence: only a little air stays.
    assert 3.9 < duration < 4.8
    assert abs(loudness(prepared.voice_path) - TARGET_LUFS) < 1.5


async def test_stereo_with_different_channels_is_downmixed_to_mono(
    pipeline: AudioPipeline, tmp_path: Path, pydub_ffmpeg: None
) -> None:
    left = Sine(220).to_audio_segment(duration=3000, volume=-12)
    right = Sine(330).to_audio_segment(duration=3000, volume=-12)
    stereo = AudioSegment.from_mono_audiosegments(left, right)
    source = tmp_path / "stereo.wav"
    stereo.export(source, format="wav")
    prepared = await pipeline.prepare(source, tmp_path / "out")
    voice = AudioSegment.from_file(prepared.voice_path, format="ogg", codec="libopus")
    assert voice.channels == 1
    assert abs(len(voice) / 1000 - 3.0) < 0.1
    # Both voices are still there: neither channel was dropped.
    assert voice.low_pass_filter(260).dBFS > -30
    assert voice.high_pass_filter(300).dBFS > -30


async def test_four_minute_clip_makes_a_voice_note_under_one_megabyte(
    pipeline: AudioPipeline, tmp_path: Path
) -> None:
    seed = speech_file(tmp_path / "seed.wav", ["-c:a", "pcm_s16le"], 12.0, lead_s=0, tail_s=0)
    source = tmp_path / "four_minutes.wav"
    ffmpeg("-stream_loop", "-1", "-i", str(seed), "-t", "240", "-c:a", "pcm_s16le", str(source))
    prepared = await pipeline.prepare(source, tmp_path / "out")
    assert abs(prepared.duration_s - 240) < 1.0
    assert prepared.voice_path.stat().st_size < 1_000_000


async def test_event_loop_keeps_running_while_ffmpeg_works(
    pipeline: AudioPipeline, tmp_path: Path
) -> None:
    source = speech_file(tmp_path / "long.wav", ["-c:a", "pcm_s16le"], seconds=60.0)
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.001)
            ticks += 1

    task = asyncio.create_task(ticker())
    try:
        await pipeline.prepare(source, tmp_path / "out")
    finally:
        task.cancel()
    assert ticks >= 10


async def test_no_more_ffmpeg_jobs_than_allowed(tmp_path: Path) -> None:
    log = tmp_path / "jobs.log"
    wrapper = tmp_path / "ffmpeg"
    wrapper.write_text(
        f'#!/bin/sh\necho start >> "{log}"\n"{FFMPEG}" "$@"\nrc=$?\necho end >> "{log}"\nexit $rc\n'
    )
    wrapper.chmod(0o755)
    source = speech_file(tmp_path / "s.wav", ["-c:a", "pcm_s16le"], seconds=20.0)
    pipeline = AudioPipeline(max_concurrency=1, ffmpeg=str(wrapper))
    done = await asyncio.gather(*(pipeline.prepare(source, tmp_path / f"o{i}") for i in range(3)))
    assert len(done) == 3
    running = peak = 0
    for line in log.read_text().split():
        running += 1 if line == "start" else -1
        peak = max(peak, running)
    assert peak == 1


async def test_cancelled_preparation_leaves_no_partial_file(
    pipeline: AudioPipeline, tmp_path: Path
) -> None:
    source = speech_file(tmp_path / "long.wav", ["-c:a", "pcm_s16le"], seconds=120.0)
    out = tmp_path / "out"
    task = asyncio.create_task(pipeline.prepare(source, out))
    while not out.exists() or not any(out.iterdir()):  # the encode pass has begun
        await asyncio.sleep(0.005)
        assert not task.done()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert list(out.iterdir()) == []


# --------------------------------------------------------------------------
# Refusals
# --------------------------------------------------------------------------


async def test_silent_recording_is_refused(pipeline: AudioPipeline, tmp_path: Path) -> None:
    source = tmp_path / "silence.wav"
    ffmpeg("-f", "lavfi", "-i", "anullsrc=r=44100:cl=stereo", "-t", "5", str(source))
    with pytest.raises(AudioRejected) as refused:
        await pipeline.prepare(source, tmp_path / "out")
    assert refused.value.code == "silent"


async def test_nearly_silent_hiss_is_refused(pipeline: AudioPipeline, tmp_path: Path) -> None:
    source = tmp_path / "hiss.wav"
    ffmpeg("-f", "lavfi", "-i", "anoisesrc=a=0.0003:r=16000", "-t", "5", str(source))
    with pytest.raises(AudioRejected) as refused:
        await pipeline.prepare(source, tmp_path / "out")
    assert refused.value.code == "silent"


async def test_whisper_is_not_mistaken_for_silence(pipeline: AudioPipeline, tmp_path: Path) -> None:
    # Around -60 LUFS, quieter than the quiet class sample.
    source = speech_file(tmp_path / "whisper.wav", ["-c:a", "pcm_s16le"], gain_db=-40)
    prepared = await pipeline.prepare(source, tmp_path / "out")
    assert 3.9 < prepared.duration_s < 4.8
    assert loudness(prepared.voice_path) - loudness(source) > 35


async def test_pdf_renamed_wav_is_not_audio(pipeline: AudioPipeline, tmp_path: Path) -> None:
    source = tmp_path / "fiche.wav"
    source.write_bytes(
        b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj << /Type /Catalog >>\nendobj\n%%EOF\n"
    )
    with pytest.raises(AudioRejected) as refused:
        await pipeline.prepare(source, tmp_path / "out")
    assert refused.value.code == "not_audio"


async def test_picture_without_sound_is_not_audio(pipeline: AudioPipeline, tmp_path: Path) -> None:
    source = tmp_path / "dessin.png"
    ffmpeg("-f", "lavfi", "-i", "color=c=red:s=32x32", "-frames:v", "1", str(source))
    with pytest.raises(AudioRejected) as refused:
        await pipeline.prepare(source, tmp_path / "out")
    assert refused.value.code == "not_audio"


async def test_voice_note_cut_in_its_header_is_unreadable(
    pipeline: AudioPipeline, tmp_path: Path
) -> None:
    full = speech_file(tmp_path / "full.ogg", ["-c:a", "libopus"], seconds=3.0)
    source = tmp_path / "cut.ogg"
    source.write_bytes(full.read_bytes()[:300])
    with pytest.raises(AudioRejected) as refused:
        await pipeline.prepare(source, tmp_path / "out")
    assert refused.value.code == "unreadable"


async def test_file_over_the_size_limit_is_refused_before_decoding(tmp_path: Path) -> None:
    source = speech_file(tmp_path / "big.wav", ["-c:a", "pcm_s16le"], seconds=2.0)
    # No ffmpeg at all: the refusal must come from the size alone.
    pipeline = AudioPipeline(AudioLimits(max_bytes=100_000), ffmpeg=str(tmp_path / "absent"))
    with pytest.raises(AudioRejected) as refused:
        await pipeline.prepare(source, tmp_path / "out")
    assert refused.value.code == "too_big"
    assert "Mo" in refused.value.message_fr


async def test_recording_over_twenty_minutes_is_refused(
    pipeline: AudioPipeline, tmp_path: Path
) -> None:
    source = tmp_path / "long.wav"  # 21 minutes at 8 kHz, 8 bits: 10 MB
    ffmpeg("-f", "lavfi", "-i", "sine=f=300:r=8000", "-t", "1260", "-c:a", "pcm_u8", str(source))
    with pytest.raises(AudioRejected) as refused:
        await pipeline.prepare(source, tmp_path / "out")
    assert refused.value.code == "too_long"
    assert "20 minutes" in refused.value.message_fr


async def test_wav_header_of_a_crashed_recorder_does_not_refuse_the_recording(
    pipeline: AudioPipeline, tmp_path: Path
) -> None:
    # A recorder that crashed before fixing its header: the WAV claims
    # 74 hours of sound and holds 6 s; the decoded length is what counts.
    real = speech_file(tmp_path / "real.wav", ["-c:a", "pcm_s16le"], 6.0, rate=8000)
    data = bytearray(real.read_bytes())
    data_at = data.index(b"data") + 4
    data[data_at : data_at + 4] = (0xFFFFFFF0).to_bytes(4, "little")
    source = tmp_path / "lying.wav"
    source.write_bytes(bytes(data))
    prepared = await pipeline.prepare(source, tmp_path / "out")
    assert 5.9 < assert_playable(prepared) < 6.8


def test_each_refusal_explains_itself_in_french() -> None:
    codes = ["empty", "not_audio", "unreadable", "silent", "too_big", "too_long"]
    messages = {code: AudioRejected(code).message_fr for code in codes}  # type: ignore[arg-type]
    assert len(set(messages.values())) == len(codes)
    assert "vide" in messages["empty"]
    assert "silence" in messages["silent"]
    assert "lire" in messages["unreadable"]
    assert "long" in messages["too_long"]
    assert "lourd" in messages["too_big"]
    assert all(m.endswith((".", "?", "…).")) for m in messages.values())


# --------------------------------------------------------------------------
# Joining recordings
# --------------------------------------------------------------------------


async def test_concatenation_joins_in_order_with_gaps(
    pipeline: AudioPipeline, tmp_path: Path
) -> None:
    parts = []
    for i, seconds in enumerate((2.0, 3.0, 4.0)):
        source = speech_file(tmp_path / f"s{i}.wav", ["-c:a", "pcm_s16le"], seconds)
        parts.append(await pipeline.prepare(source, tmp_path / f"p{i}"))
    album = await pipeline.concatenate([p.voice_path for p in parts], tmp_path / "album")
    duration = assert_playable(album)
    expected = sum(p.duration_s for p in parts) + 2 * 1.0
    assert abs(duration - expected) < 0.15
    assert abs(loudness(album.voice_path) - TARGET_LUFS) < 1.5


async def test_concatenation_of_an_unreadable_file_is_refused(
    pipeline: AudioPipeline, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.ogg"
    bad.write_bytes(b"not an ogg file at all")
    with pytest.raises(AudioRejected):
        await pipeline.concatenate([bad], tmp_path / "album")
