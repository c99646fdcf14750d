"""Small real recordings made with the bundled ffmpeg."""

from __future__ import annotations

import subprocess
from pathlib import Path

import imageio_ffmpeg


def make_tone(path: Path, *, seconds: float = 1.5, freq: int = 440) -> Path:
    """A mono tone (a little melody of three notes) encoded by its suffix:
    ``.ogg`` (Opus), ``.mp3``, ``.wav``."""
    codec = {".ogg": ["-c:a", "libopus", "-b:a", "32k"], ".mp3": ["-c:a", "libmp3lame"]}.get(
        path.suffix, []
    )
    subprocess.run(
        [
            imageio_ffmpeg.get_ffmpeg_exe(),
            "-loglevel",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            f"aevalsrc='0.4*sin(2*PI*t*{freq}*(1+0.25*floor(3*t/{seconds})))':s=48000:d={seconds}",
            "-ac",
            "1",
            *codec,
            str(path),
        ],
        check=True,
    )
    return path
