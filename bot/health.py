"""Is the service well? The database answers and every platform is
connected: what /healthz says, for a supervisor or a load balancer."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from bot.ports import ReportsConnection
from bot.service.context import Context

DB_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class Health:
    ok: bool
    reasons: list[str] = field(default_factory=list)
    adapters: dict[str, bool] = field(default_factory=dict)
    database: bool = True

    def body(self) -> dict[str, Any]:
        return {
            "status": "ok" if self.ok else "error",
            "reason": "; ".join(self.reasons),
            "database": self.database,
            "adapters": self.adapters,
        }


async def check(ctx: Context) -> Health:
    reasons: list[str] = []
    try:
        async with asyncio.timeout(DB_TIMEOUT_S):
            database = await ctx.repos.db.fetchval("SELECT 1") == 1
    except Exception as exc:  # locked, closed, disk gone: all mean "not well"
        database = False
        reasons.append(f"la base de données ne répond pas ({type(exc).__name__})")
    adapters = {}
    for name, adapter in ctx.adapters.items():
        up = adapter.connected if isinstance(adapter, ReportsConnection) else True
        adapters[name] = up
        ctx.metrics.connected(name, up)
        if not up and name not in ctx.elsewhere:  # run by another process: not ours
            reasons.append(f"{name} n'est pas connecté")
    return Health(ok=not reasons, reasons=reasons, adapters=adapters, database=database)
