"""The database handle, passed to whoever needs it: SQLite or PostgreSQL.

SQL is written once, with PostgreSQL-style ``$1`` placeholders, in the
common dialect of both engines (``ON CONFLICT``, ``RETURNING``, ``excluded.``,
``UPDATE ... FROM``, times as ISO-8601 UTC text, flags as 0/1 integers).
What differs (identity columns, write locking, migrations, row types) lives
in the two backends (storage/sqlite.py, storage/postgres.py) and in their
migration folders. Repositories only see :class:`Executor` and
:class:`Database`; :meth:`Database.open` picks the backend from its target.
"""

from __future__ import annotations

import asyncio
import hashlib
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit, urlunsplit


class Row(Protocol):
    """A result row, read by column name (``r["id"]``) or position (``r[0]``)."""

    def __getitem__(self, key: int | str, /) -> Any: ...

    def __iter__(self) -> Iterator[Any]: ...

    def __len__(self) -> int: ...


@dataclass
class QueryCount:
    """Round trips to the database, for benchmarks (queries per delivery)."""

    queries: int = 0


class Executor(ABC):
    """What repositories use: inside a transaction or not, the same calls."""

    @abstractmethod
    async def execute(self, sql: str, *args: Any) -> int:
        """Run one statement; returns the number of rows changed."""

    @abstractmethod
    async def fetch(self, sql: str, *args: Any) -> list[Row]: ...

    @abstractmethod
    async def fetchrow(self, sql: str, *args: Any) -> Row | None: ...

    @abstractmethod
    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None: ...

    async def fetchval(self, sql: str, *args: Any) -> Any:
        row = await self.fetchrow(sql, *args)
        return None if row is None else row[0]


class Database(Executor):
    """A connection (SQLite) or a pool (PostgreSQL) with its schema migrated."""

    backend: str
    counter: QueryCount
    # Appended to a claim's inner SELECT: rows another transaction is
    # claiming are passed over instead of waited for (PostgreSQL only;
    # SQLite has one writer at a time anyway).
    skip_locked: str = ""
    # True when one process owns the database alone (a SQLite file): no
    # other process can be working on what this one finds unfinished.
    single_process: bool = False

    @staticmethod
    async def open(target: Path | str) -> Database:
        """A SQLite file path, or a ``postgresql://`` URL; migrated before use."""
        if isinstance(target, str) and is_postgres_url(target):
            from storage.postgres import PostgresDatabase

            return await PostgresDatabase.connect(target)
        from storage.sqlite import SqliteDatabase

        return await SqliteDatabase.connect(Path(target))

    @abstractmethod
    def transaction(self) -> AbstractAsyncContextManager[Executor]:
        """One writer at a time, as SQLite's ``BEGIN IMMEDIATE``: what a
        transaction reads stays true until it commits."""

    @abstractmethod
    def bound(self) -> AbstractAsyncContextManager[Database]:
        """One transaction, as a ``Database`` that repositories can be built
        over (``Repositories.unit_of_work``): everything done through it
        commits together or not at all; a repository's own ``transaction()``
        inside becomes a savepoint. Nothing inside may wait on a platform,
        nor use the outer handle."""

    @abstractmethod
    async def migrate(self) -> int:
        """Apply the migrations not yet applied, under a lock; the version."""

    @abstractmethod
    async def close(self) -> None: ...

    @abstractmethod
    async def backup(self, target: Path) -> None:
        """A consistent copy of the live database into a SQLite file."""

    async def notify(self, channel: str, news: str) -> None:
        """Tell every process on this database (PostgreSQL's NOTIFY). One
        process alone (SQLite) needs no telling: it knows already."""

    async def watch(self, channel: str, heard: Callable[[str], None]) -> None:
        """Call ``heard`` with each news on ``channel``, from any process,
        until cancelled; returns at once where there are none (SQLite)."""

    @abstractmethod
    async def try_exclusive(self, name: str) -> ExclusiveLock | None:
        """Hold ``name`` (a platform account, a duty) alone among every
        process on this database, or None when another process holds it.
        The lock lives as long as its holder's hold on the database: when
        that is gone, ``lost`` is set and another process may take it."""

    @property
    def queries(self) -> int:
        return self.counter.queries


class InTransaction(Database):
    """The database inside an open transaction, for both backends: every
    call goes straight to the transaction's connection, and a nested unit
    of work is a savepoint (the same SQL on SQLite and PostgreSQL)."""

    _direct: Executor

    @abstractmethod
    async def _control(self, sql: str) -> None:
        """Runs a savepoint statement, not counted as a query."""

    async def execute(self, sql: str, *args: Any) -> int:
        return await self._direct.execute(sql, *args)

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        return await self._direct.fetch(sql, *args)

    async def fetchrow(self, sql: str, *args: Any) -> Row | None:
        return await self._direct.fetchrow(sql, *args)

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        await self._direct.executemany(sql, rows)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Executor]:
        await self._control("SAVEPOINT unit")
        try:
            yield self._direct
        except BaseException:
            await self._control("ROLLBACK TO SAVEPOINT unit")
            await self._control("RELEASE SAVEPOINT unit")
            raise
        else:
            await self._control("RELEASE SAVEPOINT unit")

    @asynccontextmanager
    async def bound(self) -> AsyncIterator[Database]:
        yield self  # already one transaction

    async def close(self) -> None:
        raise RuntimeError("the database is closed by its owner, not by a unit of work")


class ExclusiveLock(ABC):
    """A name held by this process alone, until released or lost."""

    def __init__(self, name: str) -> None:
        self.name = name
        # Set when the hold may be gone (the database out of reach): the
        # holder must stop the work at once.
        self.lost = asyncio.Event()

    @abstractmethod
    async def release(self) -> None: ...


def lock_key(name: str) -> int:
    """A stable signed 64-bit key for ``name`` (PostgreSQL advisory locks)."""
    digest = hashlib.sha256(f"petites-voix:{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def is_postgres_url(target: str) -> bool:
    return target.startswith(("postgresql://", "postgres://"))


def without_password(url: str) -> str:
    """A database URL as it may be printed."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port:
        host += f":{parts.port}"
    user = f"{parts.username}:***@" if parts.username else ""
    return urlunsplit(parts._replace(netloc=user + host))


class DatabaseUnavailable(Exception):
    """The database cannot be reached; the message is one French line."""
