"""Run ffmpeg as an asyncio subprocess, streaming its standard output.

The event loop never waits on ffmpeg: stdout is read in chunks and handed to
a callback, stderr is kept only as a bounded tail (a damaged file can make
ffmpeg print one line per broken packet).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

_CHUNK = 64 * 1024
_STDERR_TAIL = 64 * 1024


@dataclass(frozen=True)
class FfmpegResult:
    returncode: int
    stderr: str  # the last few kilobytes only


async def run_ffmpeg(
    ffmpeg: str,
    args: Sequence[str],
    on_stdout: Callable[[bytes], None] | None = None,
) -> FfmpegResult:
    proc = await asyncio.create_subprocess_exec(
        ffmpeg,
        "-nostdin",
        "-hide_banner",
        "-nostats",
        *args,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE if on_stdout else asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        tail = bytearray()

        async def read_stderr() -> None:
            assert proc.stderr is not None
            while chunk := await proc.stderr.read(_CHUNK):
                tail.extend(chunk)
                if len(tail) > 2 * _STDERR_TAIL:
                    del tail[:-_STDERR_TAIL]

        async def read_stdout() -> None:
            if on_stdout is None:
                return
            assert proc.stdout is not None
            while chunk := await proc.stdout.read(_CHUNK):
                on_stdout(chunk)

        await asyncio.gather(read_stderr(), read_stdout())
        returncode = await proc.wait()
    finally:
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()
    return FfmpegResult(returncode, bytes(tail[-_STDERR_TAIL:]).decode("utf-8", "replace"))
