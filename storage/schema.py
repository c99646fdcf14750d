"""The numbered migrations of each dialect.

SQLite's are ``migrations/NNNN_*.sql``; PostgreSQL's are the same numbers in
``migrations/postgresql/``. Every version exists in both (a test checks it).
"""

from __future__ import annotations

import sqlite3
from importlib import resources
from importlib.resources.abc import Traversable

FOLDERS = {"sqlite": (), "postgresql": ("postgresql",)}


def migrations(dialect: str) -> list[tuple[int, str]]:
    """(version, script) in order."""
    folder: Traversable = resources.files("storage") / "migrations"
    for part in FOLDERS[dialect]:
        folder = folder / part
    found = []
    for entry in folder.iterdir():
        name = entry.name
        if entry.is_file() and name.endswith(".sql") and name[:4].isdigit():
            found.append((int(name[:4]), entry.read_text(encoding="utf-8")))
    return sorted(found)


def statements(script: str) -> list[str]:
    """A SQLite script cut into whole statements, so that it can run inside
    a transaction the caller holds (``executescript`` would commit it)."""
    found, pending = [], ""
    for line in script.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            if pending.strip():
                found.append(pending.strip())
            pending = ""
    if pending.strip() and not all(
        part.strip().startswith("--") or not part.strip() for part in pending.splitlines()
    ):
        found.append(pending.strip())
    return found
