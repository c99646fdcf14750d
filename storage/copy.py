"""Moving up: a stopped SQLite installation copied into PostgreSQL.

Every table, parents before children (from SQLite's foreign keys), in one
PostgreSQL transaction with ``COPY``; identity sequences are moved past the
copied ids; then the rows of each table are counted on both sides.
"""

from __future__ import annotations

from dataclasses import dataclass
from graphlib import TopologicalSorter

from storage.postgres import PostgresDatabase
from storage.sqlite import SqliteDatabase

BATCH = 5000


class CopyError(Exception):
    """The copy cannot go on or did not match; the message is French."""


@dataclass(frozen=True)
class TableCopy:
    table: str
    source: int
    copied: int


async def tables_in_order(source: SqliteDatabase) -> list[str]:
    """The tables, each after the ones its foreign keys point to."""
    names = [
        r[0]
        for r in await source.fetch(
            "SELECT name FROM sqlite_master WHERE type = 'table' "
            "AND name NOT LIKE 'sqlite_%' AND name <> 'schema_version' ORDER BY name"
        )
    ]
    graph: dict[str, set[str]] = {}
    for name in names:
        parents = {r["table"] for r in await source.fetch(f'PRAGMA foreign_key_list("{name}")')}
        graph[name] = parents - {name}
    return list(TopologicalSorter(graph).static_order())


async def _columns(source: SqliteDatabase, table: str) -> list[str]:
    return [r["name"] for r in await source.fetch(f'PRAGMA table_info("{table}")')]


async def _schema_version(db: SqliteDatabase | PostgresDatabase) -> int:
    return int(await db.fetchval("SELECT COALESCE(MAX(version), 0) FROM schema_version"))


async def copy_storage(source: SqliteDatabase, target: PostgresDatabase) -> list[TableCopy]:
    """Copy every row of ``source`` into the empty ``target``; both migrated
    to the same version. Raises :class:`CopyError` when the counts differ."""
    if await _schema_version(source) != await _schema_version(target):
        raise CopyError("les deux bases ne sont pas au même schéma : mettez à jour le service")
    tables = await tables_in_order(source)
    for table in tables:
        if await target.fetchval(f'SELECT COUNT(*) FROM "{table}"'):
            raise CopyError(
                f"la base PostgreSQL n'est pas vide (table {table}) : rien n'a été copié"
            )
    async with target.bulk() as copier:
        for table in tables:
            columns = await _columns(source, table)
            listed = ", ".join(f'"{c}"' for c in columns)
            last = 0
            while True:
                rows = await source.fetch(
                    f'SELECT rowid, {listed} FROM "{table}" WHERE rowid > $1 '
                    "ORDER BY rowid LIMIT $2",
                    last,
                    BATCH,
                )
                if not rows:
                    break
                last = rows[-1][0]
                await copier.copy_rows(table, columns, [tuple(r)[1:] for r in rows])
        await copier.reset_identities()
    result = []
    for table in tables:
        source_count = int(await source.fetchval(f'SELECT COUNT(*) FROM "{table}"'))
        copied = int(await target.fetchval(f'SELECT COUNT(*) FROM "{table}"'))
        result.append(TableCopy(table, source_count, copied))
    wrong = [c.table for c in result if c.source != c.copied]
    if wrong:
        raise CopyError("les nombres de lignes diffèrent pour : " + ", ".join(wrong))
    return result
