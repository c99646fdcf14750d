"""Ingest benchmark: the audio pipeline against one plain ffmpeg Opus encode.

    python -m bench.ingest

Figures:
- wall time to prepare a 3-minute 44.1 kHz stereo WAV (analysis pass plus
  Opus and MP3 encodes) against one ``ffmpeg -i IN -ac 1 -c:a libopus OUT``
  of the same file, best of three each; goal: at most 1.5 times.
- peak memory of the process tree while preparing a 20-minute stereo MP3
  (a 20-minute WAV would be over the 50 MB limit) (the
  Python process plus its largest ffmpeg child), against loading and
  exporting the same file with pydub; goal: under 300 MB.

Memory is measured in a fresh interpreter per case (``--measure``), from
``resource.getrusage``: ``ru_maxrss`` of the process plus that of its
children. Adding the two overstates the tree's peak a little, never
understates it.
"""

from __future__ import annotations

import asyncio
import json
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import imageio_ffmpeg

from bench.signals import run_ffmpeg, speech_file
from bot.audio import AudioPipeline

TIME_GOAL = 1.5
MEMORY_GOAL_MB = 300.0
REPEATS = 3


def _best_of(repeats: int, work: Callable[[], None]) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - start)
    return best


def _prepare(source: Path, out_dir: Path) -> None:
    asyncio.run(AudioPipeline().prepare(source, out_dir))


def _pydub(source: Path, out_dir: Path) -> None:
    """The in-memory way: load, downmix, level, export twice."""
    from pydub import AudioSegment

    AudioSegment.converter = imageio_ffmpeg.get_ffmpeg_exe()
    # codec= keeps pydub from calling ffprobe, which imageio-ffmpeg lacks.
    sound = AudioSegment.from_file(source, format="mp3", codec="mp3").set_channels(1)
    sound = sound.apply_gain(-19.0 - sound.dBFS)
    out_dir.mkdir(parents=True, exist_ok=True)
    sound.export(out_dir / "voice.ogg", format="ogg", codec="libopus", bitrate="32k")
    sound.export(out_dir / "compat.mp3", format="mp3", bitrate="64k")


def _measure(kind: str, source: Path, out_dir: Path) -> None:
    """Child mode: run one case, print the peak RSS figures as JSON."""
    (_pydub if kind == "pydub" else _prepare)(source, out_dir)
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    print(json.dumps({"self_kib": own, "children_kib": children}))


def _peak_mb(kind: str, source: Path, out_dir: Path) -> tuple[float, float]:
    """(process + largest child, process alone) peak RSS in MB."""
    done = subprocess.run(
        [sys.executable, "-m", "bench.ingest", "--measure", kind, str(source), str(out_dir)],
        capture_output=True,
        text=True,
        check=True,
    )
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    own = figures["self_kib"] / 1024
    return own + figures["children_kib"] / 1024, own


def run() -> list[dict[str, object]]:
    ffmpeg = imageio_ffmpeg.get_ffmpeg_exe()
    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as tmp:
        work = Path(tmp)
        three = speech_file(ffmpeg, work / "three_minutes.wav", 180, ["-c:a", "pcm_s16le"])
        baseline_s = _best_of(
            REPEATS,
            lambda: run_ffmpeg(
                ffmpeg, "-i", str(three), "-ac", "1", "-c:a", "libopus", str(work / "plain.ogg")
            ),
        )
        pipeline_s = _best_of(REPEATS, lambda: _prepare(three, work / "three"))
        # Under the 50 MB limit, 20 minutes means a compressed file: MP3 128k.
        mp3 = ["-c:a", "libmp3lame", "-b:a", "128k"]
        twenty = speech_file(ffmpeg, work / "twenty_minutes.mp3", 20 * 60, mp3)
        pipeline_mb, _ = _peak_mb("pipeline", twenty, work / "twenty")
        # pydub's children are forks of a process already holding the
        # samples: their ru_maxrss repeats the parent's, so count it alone.
        _, pydub_mb = _peak_mb("pydub", twenty, work / "twenty_pydub")
    return [
        {
            "figure": "ingest: prepare a 3-min 44.1 kHz stereo WAV (wall time)",
            "goal": f"<= {TIME_GOAL}x plain ffmpeg Opus encode",
            "measured": f"{pipeline_s:.3f} s",
            "baseline": f"{baseline_s:.3f} s (ffmpeg -i IN -ac 1 -c:a libopus OUT)",
            "ratio": round(pipeline_s / baseline_s, 2),
        },
        {
            "figure": "ingest: peak memory preparing a 20-min stereo MP3 (128 kbit/s)",
            "goal": f"< {MEMORY_GOAL_MB:.0f} MB",
            "measured": f"{pipeline_mb:.0f} MB",
            "baseline": f"{pydub_mb:.0f} MB (pydub load, level, export; its process alone)",
            "ratio": round(pipeline_mb / pydub_mb, 2),
        },
    ]


def main() -> None:
    if len(sys.argv) == 5 and sys.argv[1] == "--measure":
        _measure(sys.argv[2], Path(sys.argv[3]), Path(sys.argv[4]))
        return
    for row in run():
        print(
            f"{row['figure']}\n  measured {row['measured']}, baseline {row['baseline']}, "
            f"ratio {row['ratio']}, goal {row['goal']}"
        )


if __name__ == "__main__":
    main()
