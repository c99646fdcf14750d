"""Migrations: the same versions in both dialects, applied once even when
several processes start together, and the same schema on both."""

from __future__ import annotations

import asyncio
from pathlib import Path

from storage.db import Database
from storage.schema import migrations
from tests.postgres_server import PostgresServer


def test_every_migration_exists_in_both_dialects() -> None:
    sqlite = [version for version, _ in migrations("sqlite")]
    postgresql = [version for version, _ in migrations("postgresql")]
    assert sqlite == postgresql
    assert sqlite == list(range(1, len(sqlite) + 1))


async def _open_together(target: Path | str, count: int) -> list[int]:
    databases = await asyncio.gather(*(Database.open(target) for _ in range(count)))
    try:
        return [await db.fetchval("SELECT COUNT(*) FROM schema_version") for db in databases]
    finally:
        for db in databases:
            await db.close()


async def test_processes_starting_together_on_postgresql_migrate_once(
    postgres: PostgresServer,
) -> None:
    url = postgres.fresh_database(migrated=False)
    latest = migrations("postgresql")[-1][0]
    assert await _open_together(url, 4) == [latest] * 4


async def test_processes_starting_together_on_sqlite_migrate_once(tmp_path: Path) -> None:
    latest = migrations("sqlite")[-1][0]
    assert await _open_together(tmp_path / "pv.sqlite3", 4) == [latest] * 4


async def _columns(db: Database) -> dict[str, list[str]]:
    if db.backend == "sqlite":
        tables = [
            r[0]
            for r in await db.fetch(
                "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
            )
        ]
        return {t: [r["name"] for r in await db.fetch(f"PRAGMA table_info({t})")] for t in tables}
    rows = await db.fetch(
        """SELECT table_name, column_name FROM information_schema.columns
           WHERE table_schema = 'public' ORDER BY table_name, ordinal_position"""
    )
    found: dict[str, list[str]] = {}
    for r in rows:
        found.setdefault(r["table_name"], []).append(r["column_name"])
    return found


async def test_both_dialects_have_the_same_tables_and_columns(
    postgres: PostgresServer, tmp_path: Path
) -> None:
    lite = await Database.open(tmp_path / "pv.sqlite3")
    pg = await Database.open(postgres.fresh_database())
    try:
        assert await _columns(pg) == await _columns(lite)
    finally:
        await lite.close()
        await pg.close()


async def test_rows_read_by_name_and_by_position(db: Database) -> None:
    await db.execute(
        "INSERT INTO schools (name, created_at) VALUES ($1, $2)", "École", "2026-11-24"
    )
    row = await db.fetchrow("SELECT id, name, name AS again FROM schools WHERE name = $1", "École")
    assert row is not None
    assert row["name"] == row[1] == row["again"] == "École"
    assert list(row) == [row[0], "École", "École"] and len(row) == 3
    assert await db.fetchval("SELECT COUNT(*) FROM schools WHERE id = $1", row["id"]) == 1
