"""Every story test runs on both backends: SQLite in the test's data
directory, and a fresh database on the tests' PostgreSQL server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.core.harness import Stage
from tests.postgres_server import PostgresServer


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest) -> str | None:
    """What ``[storage] database`` says: None is SQLite in the data directory."""
    if request.param == "sqlite":
        return None
    server: PostgresServer = request.getfixturevalue("postgres")
    return server.fresh_database()


@pytest.fixture
async def stage(tmp_path: Path, database: str | None) -> AsyncIterator[Stage]:
    s = Stage(tmp_path / "data", database=database)
    await s.start()
    yield s
    await s.stop()
