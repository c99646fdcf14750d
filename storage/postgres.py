"""The PostgreSQL backend: psycopg 3, async, over a connection pool.

Statements keep their ``$1`` placeholders (psycopg's raw cursor sends them
as they are). Rows are read by name or position, like SQLite's. A
transaction takes a transaction-scoped advisory lock first: writers queue
one at a time, as SQLite's ``BEGIN IMMEDIATE`` makes them, so what a
repository reads inside a transaction stays true until it commits, whatever
the number of processes. Migrations run under a session advisory lock.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import psycopg
from psycopg import AsyncConnection, AsyncCursor, AsyncRawCursor, conninfo, sql
from psycopg.types.string import StrDumper
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from storage.db import (
    Database,
    DatabaseUnavailable,
    ExclusiveLock,
    Executor,
    InTransaction,
    QueryCount,
    Row,
    lock_key,
    without_password,
)
from storage.schema import migrations

# Advisory lock keys (any bigint): one for migrations, one for writers.
MIGRATION_LOCK = 0x5076_0001
WRITE_LOCK = 0x5076_0002

log = logging.getLogger("petites_voix.storage")

# A lock's dedicated connection is checked this often; an answer slower than
# CHECK_PATIENCE_S counts as the database lost. TCP keepalives on both ends
# (ours, and the server's for this session) see a vanished peer within about
# 10 s even while nothing is sent, so the server frees the lock for another
# process and this one stops before that.
CHECK_EVERY_S = 2.0
CHECK_PATIENCE_S = 5.0
# libpq's options (tcp_user_timeout in ms: unacknowledged data gives up as fast).
KEEPALIVES = (
    "keepalives=1 keepalives_idle=4 keepalives_interval=2 keepalives_count=3 tcp_user_timeout=10000"
)
# A LISTEN connection lost is opened again after this long.
WATCH_RETRY_S = 5.0
SERVER_KEEPALIVES = (
    "SET tcp_keepalives_idle = 4; SET tcp_keepalives_interval = 2; "
    "SET tcp_keepalives_count = 3; SET tcp_user_timeout = 10000"
)


class PgRow:
    """A row by name or position; ``names`` is shared by a result's rows."""

    __slots__ = ("_names", "_values")

    def __init__(self, names: dict[str, int], values: Sequence[Any]) -> None:
        self._names = names
        self._values = values

    def __getitem__(self, key: int | str) -> Any:
        if isinstance(key, str):
            return self._values[self._names[key]]
        return self._values[key]

    def __iter__(self) -> Iterator[Any]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def keys(self) -> list[str]:
        return list(self._names)


def _row_maker(cursor: AsyncCursor[Any]) -> Callable[[Sequence[Any]], PgRow]:
    names: dict[str, int] = {}
    for index, column in enumerate(cursor.description or ()):
        names.setdefault(column.name, index)  # the first of two same names, as SQLite
    return lambda values: PgRow(names, values)


Conn = AsyncConnection[PgRow]


class PgExecutor(Executor):
    def __init__(self, conn: Conn, counter: QueryCount) -> None:
        self._conn = conn
        self.counter = counter

    async def execute(self, sql: str, *args: Any) -> int:
        self.counter.queries += 1
        cur = await self._conn.execute(sql, args)
        return cur.rowcount

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        self.counter.queries += 1
        cur = await self._conn.execute(sql, args)
        return list(await cur.fetchall())

    async def fetchrow(self, sql: str, *args: Any) -> Row | None:
        self.counter.queries += 1
        cur = await self._conn.execute(sql, args)
        return await cur.fetchone()

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        batch = list(rows)
        if not batch:
            return
        self.counter.queries += 1
        async with self._conn.cursor() as cur:
            await cur.executemany(sql, batch)


class BulkCopier:
    def __init__(self, conn: Conn) -> None:
        self._conn = conn

    async def copy_rows(
        self, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]
    ) -> None:
        listed = ", ".join(f'"{c}"' for c in columns)
        async with (
            self._conn.cursor() as cur,
            cur.copy(f'COPY "{table}" ({listed}) FROM STDIN') as copy,
        ):
            for row in rows:
                await copy.write_row(row)

    async def reset_identities(self) -> None:
        """Identity columns continue after the largest id copied."""
        cur = await self._conn.execute(
            """SELECT table_name, column_name FROM information_schema.columns
               WHERE table_schema = current_schema() AND is_identity = 'YES'"""
        )
        for table, column in await cur.fetchall():
            await self._conn.execute(
                f"""SELECT setval(pg_get_serial_sequence($1, $2),
                      COALESCE((SELECT MAX("{column}") FROM "{table}"), 0) + 1, false)""",
                (table, column),
            )


async def _configure(conn: Conn) -> None:
    conn.cursor_factory = AsyncRawCursor
    # Strings go as text (psycopg's default is "unknown"): our times and
    # codes are text, and a parameter a statement leaves unused still has a type.
    conn.adapters.register_dumper(str, StrDumper)
    conn.row_factory = _row_maker


class PostgresDatabase(Database):
    backend = "postgresql"
    skip_locked = "FOR UPDATE SKIP LOCKED"

    def __init__(self, pool: AsyncConnectionPool[Conn], url: str = "") -> None:
        self.counter = QueryCount()
        self._pool = pool
        self._url = url

    @classmethod
    async def connect(
        cls, url: str, *, min_size: int = 1, max_size: int = 8, wait_s: float = 30.0
    ) -> PostgresDatabase:
        try:  # a wrong address or password says so at once, not after wait_s
            probe = await AsyncConnection.connect(url, connect_timeout=max(2, int(wait_s)))
        except psycopg.OperationalError:
            raise DatabaseUnavailable(
                f"connexion à PostgreSQL impossible : {without_password(url)}"
            ) from None
        await probe.close()
        pool: AsyncConnectionPool[Conn] = AsyncConnectionPool(
            url,
            min_size=min_size,
            max_size=max_size,
            kwargs={"autocommit": True},
            configure=_configure,
            open=False,
            timeout=wait_s,
        )
        try:
            await pool.open(wait=True, timeout=wait_s)
        except PoolTimeout:
            await pool.close()
            raise DatabaseUnavailable(
                f"base PostgreSQL injoignable après {wait_s:g} s : {without_password(url)}"
            ) from None
        db = cls(pool, url)
        try:
            await db.migrate()
        except BaseException:
            await pool.close()
            raise
        return db

    async def execute(self, sql: str, *args: Any) -> int:
        async with self._pool.connection() as conn:
            return await PgExecutor(conn, self.counter).execute(sql, *args)

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        async with self._pool.connection() as conn:
            return await PgExecutor(conn, self.counter).fetch(sql, *args)

    async def fetchrow(self, sql: str, *args: Any) -> Row | None:
        async with self._pool.connection() as conn:
            return await PgExecutor(conn, self.counter).fetchrow(sql, *args)

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        async with self._pool.connection() as conn:
            await PgExecutor(conn, self.counter).executemany(sql, rows)

    @asynccontextmanager
    async def _writing(self) -> AsyncIterator[Conn]:
        """A pooled connection inside one transaction holding the writers' lock."""
        async with self._pool.connection() as conn:
            # BEGIN and the writers' lock in one round trip (simple protocol).
            self.counter.queries += 1
            await conn.execute(f"BEGIN; SELECT pg_advisory_xact_lock({WRITE_LOCK:d})")
            try:
                yield conn
            except BaseException:
                await conn.execute("ROLLBACK")
                raise
            else:
                self.counter.queries += 1
                await conn.execute("COMMIT")

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Executor]:
        async with self._writing() as conn:
            yield PgExecutor(conn, self.counter)

    @asynccontextmanager
    async def bound(self) -> AsyncIterator[Database]:
        async with self._writing() as conn:
            yield _PgInTransaction(self._pool, conn, self.counter)

    @asynccontextmanager
    async def bulk(self) -> AsyncIterator[BulkCopier]:
        """One transaction for loading many rows (``admin copy-storage``)."""
        async with self._pool.connection() as conn, conn.transaction():
            yield BulkCopier(conn)

    async def migrate(self) -> int:
        """Apply ``migrations/postgresql/NNNN_*.sql`` not yet applied, each in
        its own transaction, holding a session advisory lock: a second
        process starting at the same moment waits, then finds them applied."""
        async with self._pool.connection() as conn:
            await conn.execute(f"SELECT pg_advisory_lock({MIGRATION_LOCK:d})")
            try:
                await conn.execute(
                    "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY)"
                )
                cur = await conn.execute("SELECT COALESCE(MAX(version), 0) FROM schema_version")
                row = await cur.fetchone()
                applied = int(row[0]) if row else 0
                for version, script in migrations("postgresql"):
                    if version <= applied:
                        continue
                    async with conn.transaction():
                        # No parameters: the simple protocol runs the whole script.
                        await conn.execute(script.encode())
                        await conn.execute(
                            "INSERT INTO schema_version (version) VALUES ($1)", (version,)
                        )
                    applied = version
            finally:
                await conn.execute(f"SELECT pg_advisory_unlock({MIGRATION_LOCK:d})")
        return applied

    async def close(self) -> None:
        await self._pool.close()

    async def try_exclusive(self, name: str) -> ExclusiveLock | None:
        """A session advisory lock on a connection of its own (outside the
        pool), named in ``application_name`` so that ``pg_stat_activity``
        shows who holds what. The server frees it when that connection ends."""
        label = f"petites-voix {socket.gethostname()}:{os.getpid()} {name}"
        conn = await AsyncConnection.connect(
            conninfo.make_conninfo(self._url, application_name=label[:63], connect_timeout=5)
            + " "
            + KEEPALIVES,
            autocommit=True,
        )
        try:
            await conn.execute(SERVER_KEEPALIVES)
            cur = await conn.execute("SELECT pg_try_advisory_lock(%s)", (lock_key(name),))
            row = await cur.fetchone()
        except BaseException:
            await conn.close()
            raise
        if not (row and row[0]):
            await conn.close()
            return None
        return _SessionLock(name, conn)

    async def notify(self, channel: str, news: str) -> None:
        await self.execute("SELECT pg_notify($1, $2)", channel, news)

    async def watch(self, channel: str, heard: Callable[[str], None]) -> None:
        """LISTEN on a connection of its own; lost, it is opened again (the
        callers poll as well, slower, so nothing waits for ever)."""
        while True:
            try:
                conn = await AsyncConnection.connect(
                    conninfo.make_conninfo(self._url, connect_timeout=5) + " " + KEEPALIVES,
                    autocommit=True,
                )
                try:
                    await conn.execute(SERVER_KEEPALIVES)
                    await conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(channel)))
                    heard("")  # what came while not listening is looked for once
                    async for note in conn.notifies():
                        heard(note.payload)
                finally:
                    with contextlib.suppress(Exception):
                        await conn.close()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("listening on %s failed (%s)", channel, type(exc).__name__)
            await asyncio.sleep(WATCH_RETRY_S)

    async def backup(self, target: Path) -> None:
        raise NotImplementedError(
            "sauvegarde d'une base PostgreSQL : utilisez pg_dump (voir le README)"
        )


class _SessionLock(ExclusiveLock):
    """Held while its connection lives; watched so that a lost database
    stops the holder within seconds."""

    def __init__(self, name: str, conn: AsyncConnection[Any]) -> None:
        super().__init__(name)
        self._conn = conn
        self._watch = asyncio.create_task(self._watching(), name=f"lock-{name}")

    async def _watching(self) -> None:
        try:
            while True:
                await asyncio.sleep(CHECK_EVERY_S)
                await asyncio.wait_for(self._conn.execute("SELECT 1"), CHECK_PATIENCE_S)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning(
                "lost the database connection holding %s (%s)", self.name, type(exc).__name__
            )
        self.lost.set()
        await self._close()

    async def _close(self) -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._conn.close(), CHECK_PATIENCE_S)

    async def release(self) -> None:
        self._watch.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._watch
        if not self.lost.is_set():
            with contextlib.suppress(Exception):
                await asyncio.wait_for(
                    self._conn.execute("SELECT pg_advisory_unlock(%s)", (lock_key(self.name),)),
                    CHECK_PATIENCE_S,
                )
        self.lost.set()
        await self._close()


class _PgInTransaction(InTransaction, PostgresDatabase):
    """The database inside an open transaction: every call on its connection."""

    def __init__(self, pool: AsyncConnectionPool[Conn], conn: Conn, counter: QueryCount) -> None:
        super().__init__(pool)
        self.counter = counter
        self._direct = PgExecutor(conn, counter)
        self._conn = conn

    async def _control(self, sql: str) -> None:
        await self._conn.execute(sql)
