"""Turn a teacher's recording into a voice note and a compatible file.

Why ffmpeg filter chains and not pydub here: pydub decodes the whole file
into memory (a 20-minute stereo 44.1 kHz WAV is over 200 MB of samples, and
its ``normalize``/``export`` make more copies) and spawns one ffmpeg per
export. ``python -m bench.ingest`` measures both. So every step streams:

1. Analysis pass: ffmpeg decodes once (capped just past the duration limit),
   downmixes to mono, measures the sample peak (``volumedetect``) and the
   integrated loudness (``ebur128`` on a 16 kHz copy: cheap, and gating makes
   it ignore the silences), and pipes an 8 kHz copy to Python, which keeps
   one peak per 20 ms block: the decoded duration (a header can lie), the
   silence verdict, where speech starts and ends, the waveform.
2. Encode pass: ffmpeg decodes again, trims, applies the measured gain (a
   limiter only when that gain would clip) and feeds both encoders at once
   through ``asplit``: Ogg/Opus 32 kbit/s and MP3 64 kbit/s.

Measured on a 3-minute stereo WAV, the analysis pass costs about a quarter of
one plain Opus encode, while ``loudnorm`` alone (192 kHz resampling) costs
about 2.5 encodes. ``dynaudnorm`` is as cheap but rides the gain frame by
frame, lifting the pauses and the room noise between words; and the trim
and the silence verdict need a look at the whole file first anyway, so one
measured gain from that look is both cheaper and truer. Opus runs at
complexity 6: at 32 kbit/s complexity
7..10 switch libopus to its speech modes and triple the encode time for a
difference nobody hears on a phone speaker. Constrained VBR keeps the
average at 32 kbit/s (free VBR at complexity 6 overshoots to ~50 kbit/s on
loud, harmonic speech), so four minutes stay under 1 MB, the size up to which
Telegram draws the waveform of a voice note.
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from bot.audio.errors import AudioRejected
from bot.audio.levels import PCM_RATE, LevelMeter, SpeechBounds, speech_bounds, waveform
from bot.audio.model import AudioLimits, PreparedAudio
from bot.audio.runner import FfmpegResult, run_ffmpeg

log = logging.getLogger(__name__)

TARGET_LUFS = -19.0  # mono speech; about what phones play voice notes at
MAX_GAIN_DB = 40.0  # a whisper at -59 LUFS still comes up; noise is not blown further
MIN_GAIN_DB = -20.0
CEILING_DB = -1.0  # sample peak ceiling of the prepared audio
MAX_LIMITING_DB = 12.0  # how far the limiter may pull peaks down
# A "20:00" file decodes to a few packets more; one second of slack.
DURATION_SLACK_S = 1.0

VOICE_NAME = "voice.ogg"
COMPAT_NAME = "compat.mp3"
COMPAT_MIME = "audio/mpeg"

# Float before the downmix: for integer formats ffmpeg scales a stereo downmix
# by 0.5, for float by 0.707; both passes must agree.
_MONO = "aformat=sample_fmts=flt:channel_layouts=mono"
_ANALYSIS_FILTER = (
    f"{_MONO},volumedetect,asplit[m][l];"
    f"[l]aresample=16000,ebur128=framelog=quiet,anullsink;"
    f"[m]aresample={PCM_RATE}"
)
_NOT_AUDIO_SIGNS = (
    "Invalid data found when processing input",
    "matches no streams",
    "does not contain any stream",
    "Output file does not contain any stream",
)
_LUFS = re.compile(r"^\s*I:\s+(-?[0-9.]+|-inf)\s+LUFS", re.MULTILINE)
_MAX_VOLUME = re.compile(r"max_volume:\s+(-?[0-9.]+|-inf) dB")


def _default_ffmpeg() -> str:
    import imageio_ffmpeg

    return str(imageio_ffmpeg.get_ffmpeg_exe())


@dataclass(frozen=True)
class _Analysis:
    duration_s: float
    bounds: SpeechBounds
    loudness_lufs: float | None
    sample_peak_db: float | None
    meter: LevelMeter


class AudioPipeline:
    """Prepares recordings; at most ``max_concurrency`` ffmpeg jobs at a time.

    ``out_dir`` is the directory of one recording: the pipeline writes
    ``voice.ogg`` and ``compat.mp3`` there (atomically, replacing earlier ones).
    """

    def __init__(
        self,
        limits: AudioLimits = AudioLimits(),  # noqa: B008 - frozen, so shared safely
        max_concurrency: int = 2,
        ffmpeg: str | None = None,
        on_prepared: Callable[[str, float], None] | None = None,
    ) -> None:
        if max_concurrency < 1:
            raise ValueError("max_concurrency must be at least 1")
        self.limits = limits
        self._ffmpeg = ffmpeg or _default_ffmpeg()
        self._slots = asyncio.Semaphore(max_concurrency)
        # Told each preparation's outcome ("ok", "rejected", "error") and
        # seconds: the service's metrics.
        self._on_prepared = on_prepared

    async def prepare(self, source: Path, out_dir: Path) -> PreparedAudio:
        """Trim, level and encode ``source``; raises :class:`AudioRejected`."""
        started = time.monotonic()
        outcome = "error"
        try:
            prepared = await self._prepare(source, out_dir)
            outcome = "ok"
            return prepared
        except AudioRejected:
            outcome = "rejected"
            raise
        finally:
            if self._on_prepared is not None:
                self._on_prepared(outcome, time.monotonic() - started)

    async def _prepare(self, source: Path, out_dir: Path) -> PreparedAudio:
        size = (await asyncio.to_thread(source.stat)).st_size  # before any decoding
        if size == 0:
            raise AudioRejected("empty")
        if size > self.limits.max_bytes:
            raise AudioRejected.too_big(size, self.limits.max_bytes)
        async with self._slots:
            analysis = await self._analyse(source)
            gain_db, limit = _gain(analysis)
            voice, compat = _outputs(out_dir)
            chain = (
                f"[0:a:0]{_MONO},asetpts=PTS-STARTPTS,"
                f"atrim=start={analysis.bounds.start_s:.3f}:end={analysis.bounds.end_s:.3f},"
                "asetpts=PTS-STARTPTS,"
                f"volume={gain_db:.2f}dB:precision=float"
            )
            if limit:
                ceiling = 10 ** (CEILING_DB / 20)
                chain += f",alimiter=limit={ceiling:.4f}:level=false:latency=true"
            result = await self._encode(
                ["-t", self._decode_cap(), "-i", str(source)], chain, voice, compat, None
            )
        if result.returncode != 0:
            log.warning("encoding failed for a recording: %s", _last_line(result.stderr))
            raise AudioRejected("unreadable")
        bounds = analysis.bounds
        return PreparedAudio(
            voice_path=_publish(voice),
            compat_path=_publish(compat),
            compat_mime=COMPAT_MIME,
            duration_s=round(bounds.duration_s, 3),
            waveform=waveform(analysis.meter.peaks, bounds.start_s, bounds.end_s),
        )

    async def concatenate(
        self, sources: Sequence[Path], out_dir: Path, gap_s: float = 1.0
    ) -> PreparedAudio:
        """Join prepared voice files in order, ``gap_s`` of silence between two."""
        if not sources:
            raise ValueError("nothing to concatenate")
        inputs: list[str] = []
        parts: list[str] = []
        for i, path in enumerate(sources):
            inputs += ["-i", str(path)]
            pad = f",apad=pad_dur={gap_s:.3f}" if gap_s > 0 and i < len(sources) - 1 else ""
            parts.append(
                f"[{i}:a:0]aresample=48000,aformat=sample_fmts=flt:channel_layouts=mono{pad}[p{i}]"
            )
        labels = "".join(f"[p{i}]" for i in range(len(sources)))
        chain = ";".join(parts) + f";{labels}concat=n={len(sources)}:v=0:a=1"
        voice, compat = _outputs(out_dir)
        meter = LevelMeter()
        async with self._slots:
            result = await self._encode(inputs, chain, voice, compat, meter)
        meter.close()
        if result.returncode != 0 or meter.samples == 0:
            log.warning("concatenation failed: %s", _last_line(result.stderr))
            raise AudioRejected("unreadable")
        return PreparedAudio(
            voice_path=_publish(voice),
            compat_path=_publish(compat),
            compat_mime=COMPAT_MIME,
            duration_s=round(meter.duration_s, 3),
            waveform=waveform(meter.peaks),
        )

    # ------------------------------------------------------------------

    def _decode_cap(self) -> str:
        # Decode a little past the limit: enough to know it is too long.
        return f"{self.limits.max_duration_s + DURATION_SLACK_S + 1:.3f}"

    async def _analyse(self, source: Path) -> _Analysis:
        meter = LevelMeter()
        args = [
            "-v", "info",
            "-t", self._decode_cap(),
            "-i", str(source),
            "-filter_complex", f"[0:a:0]{_ANALYSIS_FILTER}[pcm]",
            "-map", "[pcm]",
            "-f", "s16le", "-c:a", "pcm_s16le", "pipe:1",
        ]  # fmt: skip
        result = await run_ffmpeg(self._ffmpeg, args, meter.feed)
        meter.close()
        if result.returncode != 0:
            if any(sign in result.stderr for sign in _NOT_AUDIO_SIGNS):
                raise AudioRejected("not_audio")
            log.info("undecodable recording: %s", _last_line(result.stderr))
            raise AudioRejected("unreadable")
        if meter.samples == 0:
            raise AudioRejected("empty")
        if meter.duration_s > self.limits.max_duration_s + DURATION_SLACK_S:
            raise AudioRejected.too_long(self.limits.max_duration_s)
        bounds = speech_bounds(meter)
        if bounds is None:
            raise AudioRejected("silent")
        return _Analysis(
            duration_s=meter.duration_s,
            bounds=bounds,
            loudness_lufs=_last_float(_LUFS, result.stderr),
            sample_peak_db=_last_float(_MAX_VOLUME, result.stderr),
            meter=meter,
        )

    async def _encode(
        self,
        inputs: list[str],
        chain: str,
        voice: Path,
        compat: Path,
        meter: LevelMeter | None,
    ) -> FfmpegResult:
        outputs = 3 if meter else 2
        labels = "[v][c][w]" if meter else "[v][c]"
        graph = f"{chain},asplit={outputs}{labels}"
        args = [
            "-v", "error", "-y",
            *inputs,
            "-filter_complex", graph + (f";[w]aresample={PCM_RATE}[pcm]" if meter else ""),
            "-map_metadata", "-1",
            "-map", "[v]", "-c:a", "libopus", "-b:a", "32k", "-vbr", "constrained",
            "-compression_level", "6",
            "-ar", "48000", "-f", "ogg", str(voice),
            "-map", "[c]", "-c:a", "libmp3lame", "-b:a", "64k", "-compression_level", "7",
            "-ar", "44100", "-f", "mp3", str(compat),
        ]  # fmt: skip
        if meter:
            args += ["-map", "[pcm]", "-f", "s16le", "-c:a", "pcm_s16le", "pipe:1"]
        try:
            result = await run_ffmpeg(self._ffmpeg, args, meter.feed if meter else None)
        except BaseException:
            _discard(voice, compat)
            raise
        if result.returncode != 0:
            _discard(voice, compat)
        return result


def _gain(analysis: _Analysis) -> tuple[float, bool]:
    """The gain to apply in dB, and whether a limiter must catch the peaks."""
    loudness = analysis.loudness_lufs
    if loudness is None or loudness <= -70.0:
        # Nothing passed the loudness gate: level on the peaks instead.
        gain = CEILING_DB - analysis.bounds.peak_db
    else:
        gain = TARGET_LUFS - loudness
    gain = min(MAX_GAIN_DB, max(MIN_GAIN_DB, gain))
    peak = analysis.sample_peak_db
    if peak is None:
        peak = analysis.bounds.peak_db
    headroom = CEILING_DB - peak
    gain = min(gain, headroom + MAX_LIMITING_DB)
    return gain, gain > headroom


def _outputs(out_dir: Path) -> tuple[Path, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    return out_dir / f".{VOICE_NAME}.part", out_dir / f".{COMPAT_NAME}.part"


def _publish(part: Path) -> Path:
    final = part.with_name(part.name.removeprefix(".").removesuffix(".part"))
    os.replace(part, final)
    return final


def _discard(*paths: Path) -> None:
    for path in paths:
        path.unlink(missing_ok=True)


def _last_float(pattern: re.Pattern[str], text: str) -> float | None:
    found = pattern.findall(text)
    if not found:
        return None
    value = float(found[-1])
    return value if math.isfinite(value) else None


def _last_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    return lines[-1] if lines else ""
