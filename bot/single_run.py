"""One ``run`` per SQLite data directory: a second one would share the
database file with the first and both would run the same bot. The lock is
the kernel's (``flock``): it goes with the process, even after kill -9."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

LOCK_FILE = "run.lock"


class AlreadyRunning(Exception):
    """Another process runs on this data directory; one French line."""


@contextmanager
def only_run_on(data_dir: Path) -> Iterator[None]:
    data_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(data_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise AlreadyRunning(
                f"un autre « petites-voix run » utilise déjà {data_dir} (base SQLite) : "
                "un seul processus par dossier de données, ou passez à PostgreSQL"
            ) from None
        yield
    finally:
        os.close(fd)  # releases the lock
