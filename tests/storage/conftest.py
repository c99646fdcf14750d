"""The storage suite runs over every backend listed here: a second backend
(PostgreSQL) adds itself to ``BACKENDS`` and the whole suite runs on it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from storage.db import Database
from storage.repos import Repositories


async def _sqlite(tmp: Path) -> Database:
    return await Database.open(tmp / "pv.sqlite3")


BACKENDS: dict[str, Callable[[Path], Awaitable[Database]]] = {"sqlite": _sqlite}


@pytest.fixture(params=sorted(BACKENDS))
async def db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    database = await BACKENDS[request.param](tmp_path)
    yield database
    await database.close()


@pytest.fixture
def repos(db: Database) -> Repositories:
    return Repositories.over(db)
