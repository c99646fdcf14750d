"""The real service as an operator runs it, ``python -m bot run`` in a
subprocess, for the tests that kill it with SIGKILL and start it again."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


class ServiceProcess:
    """stderr is kept in ``log``. Subclasses say when a start is complete
    (``_mark`` before the process starts, ``_ready`` polled after)."""

    start_patience_s = 30.0

    def __init__(self, config: Path, log: Path) -> None:
        self.config = config
        self.log = log
        self.proc: asyncio.subprocess.Process | None = None
        self.starts = 0

    def _mark(self) -> int:
        return 0

    def _ready(self, mark: int) -> bool:
        return True

    def exited(self) -> bool:
        return self.proc is not None and self.proc.returncode is not None

    async def start(self) -> None:
        mark = self._mark()
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        with self.log.open("ab") as err:
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bot",
                "run",
                "--config",
                str(self.config),
                cwd=REPO,
                env=env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=err,
            )
        self.starts += 1
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.start_patience_s
        while not self._ready(mark):
            if self.proc.returncode is not None or loop.time() > deadline:
                raise AssertionError(f"the service did not start:\n{self.tail()}")
            await asyncio.sleep(0.02)

    async def kill(self) -> None:
        assert self.proc is not None
        if self.proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.proc.send_signal(signal.SIGKILL)
        await self.proc.wait()
        self.proc = None

    async def stop(self) -> None:
        if self.proc is None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(self.proc.wait(), 30)
        except TimeoutError:
            self.proc.kill()
            await self.proc.wait()
        self.proc = None

    def tail(self) -> str:
        if not self.log.exists():
            return ""
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-40:])


async def admin(config: Path, *args: str) -> str:
    """``python -m bot admin ARGS --config CONFIG --json``; its stdout."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "admin",
        *args,
        "--config",
        str(config),
        "--json",
        cwd=REPO,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate()
    assert proc.returncode == 0, err.decode()
    return out.decode()


async def until(check: Callable[[], object], what: str, wait_s: float = 30.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait_s
    while not check():
        if loop.time() > deadline:
            raise AssertionError(f"not reached in time: {what}")
        await asyncio.sleep(0.02)
