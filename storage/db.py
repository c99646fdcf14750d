"""The database handle: one aiosqlite connection, passed to whoever needs it.

SQL is written once with PostgreSQL-style ``$1`` placeholders; this SQLite
backend rewrites them to ``?1``. Statements and transactions are serialised
on the connection by a lock, so concurrent tasks never interleave inside a
transaction.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path
from typing import Any

import aiosqlite

_PLACEHOLDER = re.compile(r"\$(\d+)")

Row = aiosqlite.Row


def _sqlite(sql: str) -> str:
    return _PLACEHOLDER.sub(r"?\1", sql)


class Executor:
    """What repositories use: inside a transaction or not, the same calls."""

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn

    async def execute(self, sql: str, *args: Any) -> int:
        """Run one statement; returns the number of rows changed."""
        cur = await self._conn.execute(_sqlite(sql), args)
        count = cur.rowcount
        await cur.close()
        return count

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        async with self._conn.execute(_sqlite(sql), args) as cur:
            return list(await cur.fetchall())

    async def fetchrow(self, sql: str, *args: Any) -> Row | None:
        async with self._conn.execute(_sqlite(sql), args) as cur:
            return await cur.fetchone()

    async def fetchval(self, sql: str, *args: Any) -> Any:
        row = await self.fetchrow(sql, *args)
        return None if row is None else row[0]

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        await self._conn.executemany(_sqlite(sql), rows)


class _Locked(Executor):
    """Each call takes the connection lock (autocommit statements)."""

    def __init__(self, conn: aiosqlite.Connection, lock: asyncio.Lock) -> None:
        super().__init__(conn)
        self._lock = lock

    async def execute(self, sql: str, *args: Any) -> int:
        async with self._lock:
            return await super().execute(sql, *args)

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        async with self._lock:
            return await super().fetch(sql, *args)

    async def fetchrow(self, sql: str, *args: Any) -> Row | None:
        async with self._lock:
            return await super().fetchrow(sql, *args)

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        async with self._lock:
            await super().executemany(sql, rows)


class Database(_Locked):
    backend = "sqlite"

    def __init__(self, conn: aiosqlite.Connection, path: Path) -> None:
        super().__init__(conn, asyncio.Lock())
        self.path = path

    @classmethod
    async def open(cls, path: Path) -> Database:
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = await aiosqlite.connect(path, isolation_level=None)
        conn.row_factory = aiosqlite.Row
        for pragma in (
            "PRAGMA journal_mode=WAL",
            "PRAGMA foreign_keys=ON",
            "PRAGMA busy_timeout=5000",
            "PRAGMA synchronous=NORMAL",
        ):
            await conn.execute(pragma)
        db = cls(conn, path)
        await db.migrate()
        return db

    async def close(self) -> None:
        async with self._lock:
            await self._conn.close()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Executor]:
        async with self._lock:
            await self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield Executor(self._conn)
            except BaseException:
                await self._conn.execute("ROLLBACK")
                raise
            else:
                await self._conn.execute("COMMIT")

    @asynccontextmanager
    async def bound(self) -> AsyncIterator[Database]:
        """One transaction, as a ``Database`` that repositories can be built
        over (``Repositories.unit_of_work``): everything done through it
        commits together or not at all. Nothing else reaches the database
        meanwhile, so nothing inside may wait on a platform, nor use the
        outer handle (that would wait forever)."""
        async with self._lock:
            await self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield _InTransaction(self._conn, self.path)
            except BaseException:
                await self._conn.execute("ROLLBACK")
                raise
            else:
                await self._conn.execute("COMMIT")

    async def migrate(self) -> int:
        """Apply the numbered ``migrations/NNNN_*.sql`` not yet applied."""
        await self.execute(
            "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY)"
        )
        current = await self.fetchval("SELECT COALESCE(MAX(version), 0) FROM schema_version")
        applied = int(current)
        for version, script in _migrations():
            if version <= applied:
                continue
            async with self._lock:
                # One script, one transaction: a migration applies whole or not.
                await self._conn.executescript(
                    f"BEGIN;\n{script}\n"
                    f"INSERT INTO schema_version (version) VALUES ({version:d});\nCOMMIT;"
                )
            applied = version
        return applied

    async def backup(self, target: Path) -> None:
        """Online copy of the live database (SQLite backup API)."""
        async with self._lock:
            dest = await aiosqlite.connect(target)
            try:
                await self._conn.backup(dest)
            finally:
                await dest.close()


class _InTransaction(Database):
    """The database inside an open transaction: the outer lock is already
    held; a repository's own ``transaction()`` becomes a savepoint."""

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Executor]:
        async with self._lock:
            await self._conn.execute("SAVEPOINT unit")
            try:
                yield Executor(self._conn)
            except BaseException:
                await self._conn.execute("ROLLBACK TO unit")
                await self._conn.execute("RELEASE unit")
                raise
            else:
                await self._conn.execute("RELEASE unit")

    @asynccontextmanager
    async def bound(self) -> AsyncIterator[Database]:
        yield self  # already one transaction

    async def close(self) -> None:
        raise RuntimeError("the database is closed by its owner, not by a unit of work")


def _migrations() -> list[tuple[int, str]]:
    folder = resources.files("storage") / "migrations"
    found = []
    for entry in folder.iterdir():
        name = entry.name
        if name.endswith(".sql") and name[:4].isdigit():
            found.append((int(name[:4]), entry.read_text(encoding="utf-8")))
    return sorted(found)
