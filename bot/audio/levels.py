"""Block levels of a mono 16-bit PCM stream, and what follows from them.

ffmpeg sends the decoded recording, downmixed and resampled to a low rate,
through a pipe; we keep one peak per 20 ms block (60 000 integers for
20 minutes) and never the samples themselves. Speech bounds, the silence
verdict and the waveform are computed from those peaks.
"""

from __future__ import annotations

import math
import sys
from array import array
from dataclasses import dataclass, field

PCM_RATE = 8000  # enough to see speech; the pipe carries 16 kB/s
BLOCK_S = 0.02
_BLOCK = int(PCM_RATE * BLOCK_S)  # samples per block
_FULL_SCALE = 32768.0

SILENCE_FLOOR_DB = -60.0  # below this, nothing is heard however loud we play it
SPEECH_RANGE_DB = 35.0  # blocks this far below the loudest one count as silence
MIN_SPEECH_S = 0.1  # less sound than this in the whole file: silent
LEAD_PAD_S = 0.25  # kept before the first sound, so no onset is clipped
TAIL_PAD_S = 0.35  # kept after the last sound, so no word is cut short


@dataclass
class LevelMeter:
    """Consumes s16le mono PCM at :data:`PCM_RATE` chunk by chunk."""

    peaks: array[int] = field(default_factory=lambda: array("i"))
    samples: int = 0
    _rest: bytes = b""

    def feed(self, chunk: bytes) -> None:
        data = self._rest + chunk
        usable = len(data) - len(data) % (2 * _BLOCK)
        self._rest = data[usable:]
        if usable:
            self._add(data[:usable])

    def close(self) -> None:
        rest, self._rest = self._rest, b""
        self._add(rest[: len(rest) - len(rest) % 2])

    def _add(self, data: bytes) -> None:
        pcm = array("h")
        pcm.frombytes(data)
        if sys.byteorder == "big":
            pcm.byteswap()
        self.samples += len(pcm)
        for i in range(0, len(pcm), _BLOCK):
            block = pcm[i : i + _BLOCK]
            self.peaks.append(max(max(block), -min(block)))

    @property
    def duration_s(self) -> float:
        return self.samples / PCM_RATE


def to_db(peak: float) -> float:
    return 20 * math.log10(peak / _FULL_SCALE) if peak > 0 else -math.inf


@dataclass(frozen=True)
class SpeechBounds:
    start_s: float
    end_s: float
    peak_db: float  # loudest block inside the bounds

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


def speech_bounds(meter: LevelMeter) -> SpeechBounds | None:
    """Where sound starts and ends, with a little air; ``None`` when silent."""
    peaks = meter.peaks
    loudest = max(peaks, default=0)
    loudest_db = to_db(loudest)
    if loudest_db < SILENCE_FLOOR_DB:
        return None
    threshold_db = max(SILENCE_FLOOR_DB, loudest_db - SPEECH_RANGE_DB)
    threshold = _FULL_SCALE * 10 ** (threshold_db / 20)
    audible = [i for i, p in enumerate(peaks) if p > threshold]
    if len(audible) * BLOCK_S < MIN_SPEECH_S:
        return None
    start = max(0.0, audible[0] * BLOCK_S - LEAD_PAD_S)
    end = min(meter.duration_s, (audible[-1] + 1) * BLOCK_S + TAIL_PAD_S)
    return SpeechBounds(start, end, loudest_db)


def waveform(
    peaks: array[int], start_s: float = 0.0, end_s: float | None = None, points: int = 100
) -> tuple[int, ...]:
    """Up to ``points`` amplitudes in 0..1023, the loudest part at 1023."""
    first = int(start_s / BLOCK_S)
    last = len(peaks) if end_s is None else min(len(peaks), math.ceil(end_s / BLOCK_S))
    blocks = peaks[first:last]
    if not blocks:
        return ()
    count = min(points, len(blocks))
    buckets = [
        max(blocks[len(blocks) * k // count : len(blocks) * (k + 1) // count]) for k in range(count)
    ]
    top = max(buckets)
    if top == 0:
        return tuple(0 for _ in buckets)
    return tuple(round(1023 * b / top) for b in buckets)
