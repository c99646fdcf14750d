"""`/healthz` and `/metrics` over HTTP (aiohttp.web).

:func:`add_health_routes` adds them to any aiohttp Application, so the
family pages' listener (``[web]``) can serve ``/healthz`` too;
:class:`HealthServer` is the small listener of ``[metrics] listen``.
"""

from __future__ import annotations

import json

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST

from bot.health import check
from bot.service.context import Context


def add_health_routes(app: web.Application, ctx: Context, *, metrics: bool = True) -> None:
    async def healthz(_request: web.Request) -> web.Response:
        health = await check(ctx)
        return web.Response(
            status=200 if health.ok else 503,
            text=json.dumps(health.body(), ensure_ascii=False),
            content_type="application/json",
        )

    async def exposition(_request: web.Request) -> web.Response:
        await check(ctx)  # the adapters' connected flags, fresh
        await ctx.metrics.refresh(ctx.repos.db, ctx.clock.now(), sorted(ctx.adapters))
        return web.Response(
            body=ctx.metrics.exposition(), headers={"Content-Type": CONTENT_TYPE_LATEST}
        )

    app.router.add_get("/healthz", healthz)
    if metrics:
        app.router.add_get("/metrics", exposition)


class HealthServer:
    """Listens on ``[metrics] listen`` (loopback by default: metrics name
    no one, but they are nobody else's business either)."""

    def __init__(self, ctx: Context, host: str, port: int) -> None:
        self.ctx = ctx
        self.host = host
        self.port = port
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application()
        add_health_routes(app, self.ctx)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port)
        await site.start()
        self._runner = runner
        if self.port == 0:  # tests ask for any free port: learn which
            self.port = int(runner.addresses[0][1])

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()
