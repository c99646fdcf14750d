"""Faults injected into a running service: a repository method or a file
store that raises, as a busy database or a full disk would."""

from __future__ import annotations

import errno
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest


def locked() -> Exception:
    return sqlite3.OperationalError("database is locked")


def disk_full() -> Exception:
    return OSError(errno.ENOSPC, "No space left on device")


@dataclass
class Fault:
    """Lets the first ``skip`` calls through, then raises ``error()`` on the
    next ``times`` calls (every call when None), then lets them through
    again. ``seen`` runs at each raise."""

    error: Callable[[], Exception]
    times: int | None = None
    skip: int = 0
    seen: Callable[[], None] | None = None
    raised: int = 0
    calls: list[tuple[Any, ...]] = field(default_factory=list)

    def trip(self, args: tuple[Any, ...]) -> None:
        self.calls.append(args)
        if len(self.calls) <= self.skip:
            return
        if self.times is None or self.raised < self.times:
            self.raised += 1
            if self.seen is not None:
                self.seen()
            raise self.error()


def inject_async(monkeypatch: pytest.MonkeyPatch, target: object, name: str, fault: Fault) -> Fault:
    original = getattr(target, name)

    async def faulty(*args: Any, **kwargs: Any) -> Any:
        fault.trip(args)
        return await original(*args, **kwargs)

    monkeypatch.setattr(target, name, faulty)
    return fault


def inject_sync(monkeypatch: pytest.MonkeyPatch, target: object, name: str, fault: Fault) -> Fault:
    original = getattr(target, name)

    def faulty(*args: Any, **kwargs: Any) -> Any:
        fault.trip(args)
        return original(*args, **kwargs)

    monkeypatch.setattr(target, name, faulty)
    return fault
