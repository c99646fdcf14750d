"""The lock that gives a platform account to one process: two processes on
one PostgreSQL database (two handles, each with its own connections) never
hold the same name; a holder whose connection is cut learns it within
seconds and the name is free for the other. On SQLite (one process per
file) the names are only shared among one process's tasks."""

from __future__ import annotations

import asyncio
from pathlib import Path

import psycopg

from storage.db import Database
from storage.postgres import CHECK_EVERY_S, CHECK_PATIENCE_S
from tests.postgres_server import PostgresServer


async def test_two_processes_never_hold_the_same_account(postgres: PostgresServer) -> None:
    url = postgres.fresh_database()
    first, second = await Database.open(url), await Database.open(url)
    try:
        held = await first.try_exclusive("telegram:123")
        assert held is not None
        assert await second.try_exclusive("telegram:123") is None
        assert await first.try_exclusive("telegram:123") is None  # not twice in one either
        other = await second.try_exclusive("matrix:@bot:example.org")
        assert other is not None  # another account is free
        await held.release()
        taken = await second.try_exclusive("telegram:123")
        assert taken is not None
        assert not taken.lost.is_set()
        await taken.release()
        await other.release()
    finally:
        await first.close()
        await second.close()


async def test_a_holder_cut_from_the_database_knows_it_and_the_account_is_freed(
    postgres: PostgresServer,
) -> None:
    url = postgres.fresh_database()
    first, second = await Database.open(url), await Database.open(url)
    try:
        held = await first.try_exclusive("telegram:123")
        assert held is not None
        assert await second.try_exclusive("telegram:123") is None
        # The holder's connection, cut from the server's side (as when the
        # network between them goes): named by its application_name.
        with psycopg.connect(url, autocommit=True) as admin:
            cut = admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE application_name LIKE 'petites-voix %telegram:123'"
            ).fetchall()
        assert cut == [(True,)]
        await asyncio.wait_for(held.lost.wait(), CHECK_EVERY_S + CHECK_PATIENCE_S + 2)
        taken = await second.try_exclusive("telegram:123")
        assert taken is not None
        await held.release()  # harmless after a loss
        await taken.release()
    finally:
        await first.close()
        await second.close()


async def test_on_sqlite_a_name_is_held_once_in_the_process(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "pv.sqlite3")
    held = await db.try_exclusive("email")
    assert held is not None
    assert await db.try_exclusive("email") is None
    await held.release()
    again = await db.try_exclusive("email")
    assert again is not None
    await again.release()
    await db.close()
