"""The outbox on PostgreSQL against SQLite, in the same run.

``python -m bench.postgres_outbox [--deliveries N] [--database URL]``

Measured path: the real service (:class:`bot.app.Service`: publisher, outbox,
delivery workers) on the memory platform with its limits lifted, so that the
database is what sets the pace. N families are subscribed through the
repositories; one prepared recording is released, the publisher writes its N
deliveries, and the worker drains them. Wall time runs from the release to
the last delivery marked sent; the queries are every round trip to the
database in that time (counted in the database handle), per delivery.

PostgreSQL is the tests' server (started here in a temporary directory, as
the tests do) unless ``--database`` names one (an empty database). Baseline:
the same run on SQLite in a temporary directory.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from adapters.memory import MemoryAdapter
from bot.app import Service
from bot.config import settings_from_mapping
from bot.ports import Capabilities
from tests.seeding import class_with_held_recording

FIRST_CHAT = 10_000


@dataclass
class Run:
    backend: str
    deliveries: int
    wall_s: float
    queries: int

    @property
    def per_s(self) -> float:
        return self.deliveries / self.wall_s

    @property
    def queries_per_delivery(self) -> float:
        return self.queries / self.deliveries


def _unlimited() -> MemoryAdapter:
    return MemoryAdapter(
        caps=Capabilities(
            global_rate_per_s=1_000_000.0,
            per_chat_interval_s=0.0,
            command_prefixes=("/",),
            invite_link_template="https://t.me/petitesvoix_bench_bot?start={code}",
            has_buttons=False,
        )
    )


async def outbox_run(deliveries: int, data: Path, database: str | None) -> Run:
    storage: dict[str, str] = {"data_dir": str(data)}
    if database:
        storage["database"] = database
    settings = settings_from_mapping(
        {
            "storage": storage,
            "schedule": {"quiet_hours": ""},
            "delivery": {"grace_seconds": 0},
        },
        {},
        data,
    )
    adapter = _unlimited()
    service = await Service.create(settings, {"memory": adapter})
    db = service.ctx.repos.db
    try:
        rec_id = await class_with_held_recording(
            service.ctx,
            [str(FIRST_CHAT + i) for i in range(deliveries)],
            platform="memory",
        )
        await service.start()
        repos = service.ctx.repos
        queries_before = db.queries
        start = time.monotonic()
        assert await repos.recordings.release_held(rec_id, service.ctx.clock.now())
        service.ctx.wake.publisher.set()
        deadline, polls = start + 600, 0
        while True:
            # Sent means the row says so: the answers are stored after the sends.
            polls += 1
            if (await repos.deliveries.counts_by_state())["sent"] >= deliveries:
                break
            if time.monotonic() > deadline:
                raise RuntimeError("the outbox did not drain in time")
            await asyncio.sleep(0.01)
        wall = time.monotonic() - start
        queries = db.queries - queries_before - polls  # the bench's own polling not counted
    finally:
        await service.stop()
    return Run(db.backend, deliveries, wall, queries)


async def measure(deliveries: int, database: str | None) -> list[Run]:
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        runs.append(await outbox_run(deliveries, Path(tmp) / "sqlite", None))
    if database is not None:
        with tempfile.TemporaryDirectory() as tmp:
            runs.append(await outbox_run(deliveries, Path(tmp) / "pg", database))
        return runs
    from tests.postgres_server import PostgresServer

    with tempfile.TemporaryDirectory() as tmp:
        server = PostgresServer(Path(tempfile.mkdtemp(prefix="pv-bench-pg-")))
        await asyncio.to_thread(server.start)
        try:
            url = await asyncio.to_thread(server.fresh_database)
            runs.append(await outbox_run(deliveries, Path(tmp) / "pg", url))
        finally:
            await asyncio.to_thread(server.stop)
    return runs


def rows(runs: list[Run]) -> list[dict[str, Any]]:
    sqlite, pg = runs
    return [
        {
            "figure": f"deliveries/s, {pg.deliveries} through the service",
            "goal": ">= 0.8 x SQLite",
            "measured": round(pg.per_s, 1),
            "baseline": round(sqlite.per_s, 1),
            "ratio": round(pg.per_s / sqlite.per_s, 2),
        },
        {
            "figure": "queries per delivery (PostgreSQL)",
            "goal": "<= 3",
            "measured": round(pg.queries_per_delivery, 2),
            "baseline": round(sqlite.queries_per_delivery, 2),
            "ratio": round(pg.queries_per_delivery / sqlite.queries_per_delivery, 2),
        },
    ]


def run(deliveries: int = 10_000, database: str | None = None) -> list[dict[str, Any]]:
    return rows(asyncio.run(measure(deliveries, database)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--deliveries", type=int, default=10_000)
    parser.add_argument("--database", help="postgresql://... (an empty database)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    runs = asyncio.run(measure(args.deliveries, args.database))
    print("Outbox: one recording to every family, PostgreSQL against SQLite (same run)")
    for r in runs:
        print(
            f"  {r.backend:<10} {r.deliveries} deliveries in {r.wall_s:.2f} s: "
            f"{r.per_s:.0f}/s, {r.queries} queries, {r.queries_per_delivery:.2f} per delivery"
        )
    for row in rows(runs):
        print(
            f"{row['figure']:<45} goal {row['goal']:<16} measured {row['measured']:<8} "
            f"SQLite {row['baseline']:<8} ratio {row['ratio']}"
        )


if __name__ == "__main__":
    main()
