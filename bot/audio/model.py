"""What the audio pipeline takes and gives."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class AudioLimits:
    max_bytes: int = 50 * 1024 * 1024
    max_duration_s: float = 20 * 60


@dataclass(frozen=True)
class PreparedAudio:
    voice_path: Path  # Ogg/Opus mono, shown as a voice note
    compat_path: Path  # MP3 mono, for players without Opus
    compat_mime: str  # "audio/mpeg"
    duration_s: float  # of the prepared audio
    waveform: tuple[int, ...]  # up to 100 values in 0..1023 (Matrix msc1767)

    voice_mime: str = "audio/ogg"
