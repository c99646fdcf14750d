"""The real service as an operator runs it, ``python -m bot run`` in a
subprocess, for the tests that kill it with SIGKILL and start it again:
the process, its TOML file, the operator's admin command."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from pathlib import Path

import psycopg

REPO = Path(__file__).resolve().parents[1]
# What the service logs once it holds its accounts (or waits for them).
READY = "Petites Voix is running"


def write_config(
    path: Path,
    data_dir: Path,
    *,
    database: str | None = None,
    **sections: Mapping[str, str | int],
) -> Path:
    """The service's TOML file: its storage, the sections given (``telegram``,
    ``matrix``, ``web``, ``email``: key to value), and everything sent at
    once (no quiet hours, no grace period), as the process tests want."""
    storage: dict[str, str | int] = {"data_dir": str(data_dir)}
    if database is not None:
        storage["database"] = database
    tables: dict[str, Mapping[str, str | int]] = {
        "storage": storage,
        **sections,
        "schedule": {"quiet_hours": ""},
        "delivery": {"grace_seconds": 0},
    }
    path.write_text(
        "".join(
            f"\n[{name}]\n" + "".join(f"{key} = {_toml(v)}\n" for key, v in table.items())
            for name, table in tables.items()
        ),
        encoding="utf-8",
    )
    return path


def _toml(value: str | int) -> str:
    # A JSON string is a TOML basic string (same quotes and escapes).
    return json.dumps(value, ensure_ascii=False) if isinstance(value, str) else str(value)


class ServiceProcess:
    """stderr is kept in ``log``. Started once the log says it runs (after
    this start: the log is kept across restarts); a subclass may wait for
    something else (``_mark`` before the process starts, ``_ready`` polled
    after)."""

    def __init__(self, config: Path, log: Path, start_patience_s: float = 30.0) -> None:
        self.config = config
        self.log = log
        self.start_patience_s = start_patience_s
        self.proc: asyncio.subprocess.Process | None = None
        self.starts = 0

    def _log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def _mark(self) -> int:
        return len(self._log_text())

    def _ready(self, mark: int) -> bool:
        return READY in self._log_text()[mark:]

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

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
        return "\n".join(self._log_text().splitlines()[-40:])


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


def holder_pid(url: str, account: str = "telegram:%") -> int | None:
    """The process the service's status names for an account (host:pid)."""
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT holder FROM account_holders WHERE account LIKE %s", (account,)
        ).fetchone()
    return int(str(row[0]).rsplit(":", 1)[1]) if row else None


@contextlib.asynccontextmanager
async def stopped_after(
    services: Sequence[ServiceProcess], *first: Callable[[], object]
) -> AsyncIterator[None]:
    """The test's body with its services: a failed assertion shows each
    service's log tail; however the body ends, ``first`` runs (what must
    happen before a stop), then every service is stopped."""
    try:
        yield
    except AssertionError:
        for service in services:
            print(service.tail())
        raise
    finally:
        for step in first:
            step()
        for service in services:
            await service.stop()
