"""Test recordings made with ffmpeg, so benchmarks need no sample files."""

from __future__ import annotations

import subprocess
from pathlib import Path

# A voiced, syllabic signal: a gliding 160 Hz voice with two harmonics,
# six syllables a second, a pause of 0.6 s every 3 s.
_F0 = "(160+30*sin(2*PI*0.7*t))"
SPEECH_EXPR = (
    f"(sin(2*PI*{_F0}*t)+0.5*sin(4*PI*{_F0}*t)+0.3*sin(6*PI*{_F0}*t))"
    "*pow(max(0,sin(2*PI*3*t)),2)*lt(mod(t,3),2.4)*0.3"
)


def run_ffmpeg(ffmpeg: str, *args: str) -> None:
    subprocess.run(
        [ffmpeg, "-hide_banner", "-nostdin", "-nostats", "-v", "error", "-y", *args],
        check=True,
    )


def speech_file(
    ffmpeg: str, path: Path, seconds: float, codec: list[str], rate: int = 44100
) -> Path:
    """A stereo file of ``seconds`` of speech-like sound, encoded with ``codec``.

    Twelve seconds are synthesised (``aevalsrc`` is slow), encoded, and the
    encoded stream is looped without re-encoding.
    """
    seed = path.with_name(path.stem + ".seed" + path.suffix)
    exprs = f"{SPEECH_EXPR}|{SPEECH_EXPR}"
    run_ffmpeg(
        ffmpeg, "-f", "lavfi", "-i", f"aevalsrc=exprs='{exprs}':s={rate}:d=12",
        *codec, str(seed),
    )  # fmt: skip
    run_ffmpeg(
        ffmpeg, "-stream_loop", "-1", "-i", str(seed), "-t", f"{seconds}", "-c", "copy", str(path)
    )
    seed.unlink()
    return path
