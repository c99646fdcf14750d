"""The embedded backend: one aiosqlite connection.

Placeholders ``$1`` become ``?1``. Statements and transactions are
serialised on the connection by a lock, so concurrent tasks never interleave
inside a transaction; ``BEGIN IMMEDIATE`` keeps other processes out too.
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any

import aiosqlite

from storage.db import Database, ExclusiveLock, Executor, InTransaction, QueryCount, Row
from storage.schema import migrations, statements

_PLACEHOLDER = re.compile(r"\$(\d+)")
# How long a statement waits for another process's write lock.
BUSY_TIMEOUT_MS = 5000
# How long a starting process waits for another one's migrations.
MIGRATION_WAIT_MS = 60000


async def _switch_to_wal(conn: aiosqlite.Connection) -> None:
    """Switching a new file to WAL needs the file to itself: while another
    process starting at the same moment holds it, SQLite answers "database
    is locked" at once, without waiting out the busy timeout. Try again."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + MIGRATION_WAIT_MS / 1000
    while True:
        try:
            await conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or loop.time() > deadline:
                raise
            await asyncio.sleep(0.05)


@lru_cache(maxsize=1024)  # the same statements over and over: rewritten once each
def _sqlite(sql: str) -> str:
    return _PLACEHOLDER.sub(r"?\1", sql)


class SqliteExecutor(Executor):
    def __init__(self, conn: aiosqlite.Connection, counter: QueryCount) -> None:
        self._conn = conn
        self.counter = counter

    async def execute(self, sql: str, *args: Any) -> int:
        self.counter.queries += 1
        cur = await self._conn.execute(_sqlite(sql), args)
        count = cur.rowcount
        await cur.close()
        return count

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        self.counter.queries += 1
        # One trip to the connection's thread (execute, fetch, close), not three.
        return list(await self._conn.execute_fetchall(_sqlite(sql), args))

    async def fetchrow(self, sql: str, *args: Any) -> Row | None:
        self.counter.queries += 1
        async with self._conn.execute(_sqlite(sql), args) as cur:
            row: Row | None = await cur.fetchone()
            return row

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        self.counter.queries += 1
        await self._conn.executemany(_sqlite(sql), rows)


class SqliteDatabase(Database):
    backend = "sqlite"
    single_process = True

    def __init__(self, conn: aiosqlite.Connection, path: Path) -> None:
        self.counter = QueryCount()
        self._conn = conn
        self._lock = asyncio.Lock()
        self._sharing = 0  # statements outside transactions under way
        self._unshared = asyncio.Event()
        self._plain = SqliteExecutor(conn, self.counter)
        self.path = path
        self._held: set[str] = set()

    @classmethod
    async def connect(cls, path: Path) -> SqliteDatabase:
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = await aiosqlite.connect(path, isolation_level=None)
        conn.row_factory = aiosqlite.Row
        # The start's long busy timeout (migrate() leaves the everyday one).
        await conn.execute(f"PRAGMA busy_timeout={MIGRATION_WAIT_MS}")
        await _switch_to_wal(conn)
        await conn.execute("PRAGMA foreign_keys=ON")
        await conn.execute("PRAGMA synchronous=NORMAL")
        db = cls(conn, path)
        await db.migrate()
        return db

    # One connection: a transaction has it to itself, while statements
    # outside transactions (autocommit) share it. Those need no turn among
    # themselves (the connection's thread runs them one by one, in order);
    # making each wait for the previous one made 200 family pages asked at
    # once wait one event-loop turn per query.
    @asynccontextmanager
    async def _shared(self) -> AsyncIterator[None]:
        if self._lock.locked():  # a transaction is under way: after it
            async with self._lock:
                pass
        self._sharing += 1
        try:
            yield
        finally:
            self._sharing -= 1
            if not self._sharing:
                self._unshared.set()

    @asynccontextmanager
    async def _alone(self) -> AsyncIterator[None]:
        async with self._lock:  # statements arriving now wait for the lock
            while self._sharing:  # and those under way finish first
                self._unshared.clear()
                await self._unshared.wait()
            yield

    async def execute(self, sql: str, *args: Any) -> int:
        async with self._shared():
            return await self._plain.execute(sql, *args)

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        async with self._shared():
            return await self._plain.fetch(sql, *args)

    async def fetchrow(self, sql: str, *args: Any) -> Row | None:
        async with self._shared():
            return await self._plain.fetchrow(sql, *args)

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        async with self._shared():
            await self._plain.executemany(sql, rows)

    async def close(self) -> None:
        async with self._alone():
            await self._conn.close()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Executor]:
        async with self._alone():
            await self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._plain
            except BaseException:
                await self._conn.execute("ROLLBACK")
                raise
            else:
                await self._conn.execute("COMMIT")

    @asynccontextmanager
    async def bound(self) -> AsyncIterator[Database]:
        async with self._alone():
            await self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield _SqliteInTransaction(self)
            except BaseException:
                await self._conn.execute("ROLLBACK")
                raise
            else:
                await self._conn.execute("COMMIT")

    async def migrate(self) -> int:
        """Apply ``migrations/NNNN_*.sql`` not yet applied, all in one
        ``BEGIN IMMEDIATE`` transaction: a second process starting at the same
        moment waits, then finds them applied. Waiting for another process's
        migrations may take longer than a query's busy timeout: a start waits
        up to a minute rather than failing with "database is locked"."""
        async with self._alone():
            await self._conn.execute(f"PRAGMA busy_timeout={MIGRATION_WAIT_MS}")
            try:
                return await self._migrate_locked()
            finally:
                await self._conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")

    async def _migrate_locked(self) -> int:
        await self._conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY)"
        )
        await self._conn.execute("BEGIN IMMEDIATE")
        try:
            async with self._conn.execute(
                "SELECT COALESCE(MAX(version), 0) FROM schema_version"
            ) as cur:
                row = await cur.fetchone()
            applied = int(row[0]) if row else 0
            for version, script in migrations("sqlite"):
                if version <= applied:
                    continue
                for statement in statements(script):
                    await self._conn.execute(statement)
                await self._conn.execute(
                    "INSERT INTO schema_version (version) VALUES (?)", (version,)
                )
                applied = version
        except BaseException:
            await self._conn.execute("ROLLBACK")
            raise
        await self._conn.execute("COMMIT")
        return applied

    async def try_exclusive(self, name: str) -> ExclusiveLock | None:
        """One process per SQLite file (the rule the ``run`` command
        enforces): a name is only shared among this process's tasks."""
        if name in self._held:
            return None
        self._held.add(name)
        return _LocalLock(name, self._held)

    async def backup(self, target: Path) -> None:
        """Online copy of the live database (SQLite backup API)."""
        async with self._alone():
            dest = await aiosqlite.connect(target)
            try:
                await self._conn.backup(dest)
            finally:
                await dest.close()


class _LocalLock(ExclusiveLock):
    def __init__(self, name: str, held: set[str]) -> None:
        super().__init__(name)
        self._held = held

    async def release(self) -> None:
        self._held.discard(self.name)


class _SqliteInTransaction(InTransaction, SqliteDatabase):
    """The database inside an open transaction: the outer lock is already
    held, so calls go straight to the connection."""

    def __init__(self, outer: SqliteDatabase) -> None:
        super().__init__(outer._conn, outer.path)
        self.counter = outer.counter
        self._direct = SqliteExecutor(outer._conn, outer.counter)

    async def _control(self, sql: str) -> None:
        await self._conn.execute(sql)
