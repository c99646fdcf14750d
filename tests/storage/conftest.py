"""The storage suite runs over every backend listed here: SQLite in a
temporary file, and a fresh database on the tests' PostgreSQL server."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from storage.db import Database
from storage.repos import Repositories
from tests.postgres_server import PostgresServer


async def _sqlite(request: pytest.FixtureRequest, tmp: Path) -> Database:
    return await Database.open(tmp / "pv.sqlite3")


async def _postgresql(request: pytest.FixtureRequest, tmp: Path) -> Database:
    server: PostgresServer = request.getfixturevalue("postgres")
    return await Database.open(server.fresh_database())


BACKENDS: dict[str, Callable[[pytest.FixtureRequest, Path], Awaitable[Database]]] = {
    "sqlite": _sqlite,
    "postgresql": _postgresql,
}


@pytest.fixture(params=sorted(BACKENDS))
async def db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    database = await BACKENDS[request.param](request, tmp_path)
    yield database
    await database.close()


@pytest.fixture
def repos(db: Database) -> Repositories:
    return Repositories.over(db)
