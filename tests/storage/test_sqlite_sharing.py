"""One SQLite connection: statements of their own (autocommit) share it,
a transaction has it alone, and neither runs inside the other."""

from __future__ import annotations

import asyncio
from pathlib import Path

from storage.sqlite import SqliteDatabase

TABLE = "CREATE TABLE IF NOT EXISTS probe (n INTEGER)"


async def _db(tmp_path: Path) -> SqliteDatabase:
    db = await SqliteDatabase.connect(tmp_path / "pv.sqlite3")
    await db.execute(TABLE)
    return db


async def test_statements_of_their_own_go_to_the_connection_together(tmp_path: Path) -> None:
    db = await _db(tmp_path)
    try:
        asked = db.counter.queries
        reads = [asyncio.create_task(db.fetch("SELECT COUNT(*) FROM probe")) for _ in range(50)]
        await asyncio.sleep(0)  # one turn: every read has started
        # Handed to the connection's thread at once, not one per event-loop turn.
        assert db.counter.queries - asked == 50
        assert [r[0][0] for r in await asyncio.gather(*reads)] == [0] * 50
    finally:
        await db.close()


async def test_a_statement_asked_during_a_transaction_runs_after_it(tmp_path: Path) -> None:
    db = await _db(tmp_path)
    try:
        async with db.transaction() as tx:
            await tx.execute("INSERT INTO probe (n) VALUES (1)")
            read = asyncio.create_task(db.fetch("SELECT COUNT(*) FROM probe"))
            for _ in range(20):
                await asyncio.sleep(0)
            assert not read.done()  # it waits: it must not run inside the transaction
            await tx.execute("INSERT INTO probe (n) VALUES (2)")
        assert (await read)[0][0] == 2  # after the commit, both rows
    finally:
        await db.close()


async def test_a_transaction_waits_for_the_statements_under_way(tmp_path: Path) -> None:
    db = await _db(tmp_path)
    try:
        await db.executemany("INSERT INTO probe (n) VALUES ($1)", [(n,) for n in range(200)])
        reads = [
            asyncio.create_task(db.fetchrow("SELECT COUNT(*), SUM(n) FROM probe"))
            for _ in range(20)
        ]
        await asyncio.sleep(0)

        async def write() -> None:
            async with db.transaction() as tx:
                # Begun once every read was done: each saw the 200 rows.
                assert all(r.done() for r in reads)
                await tx.execute("DELETE FROM probe")

        await asyncio.gather(write(), *reads)
        assert all(tuple(r.result() or ()) == (200, sum(range(200))) for r in reads)
        assert (await db.fetchrow("SELECT COUNT(*) FROM probe") or (None,))[0] == 0
    finally:
        await db.close()
