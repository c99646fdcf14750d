"""A pass-through HTTP proxy in front of Synapse that spaces out the
service's messages to chosen rooms, one at a time.

A fan-out to five families otherwise goes out in parallel in a few
milliseconds, so a test that wants to kill the service *between* two of
them can only hope. Paced, a fan-out lasts seconds and the kill lands in it.
Everything else (sync, media, keys, to-device) passes straight through to
the real Synapse.
"""

from __future__ import annotations

import asyncio
import re
from urllib.parse import unquote

from aiohttp import ClientSession, ClientTimeout, web

# Hop-by-hop and body-framing headers are the proxy's own business.
_DROPPED = {"host", "content-length", "transfer-encoding", "connection", "content-encoding"}
_ROOM_SEND = re.compile(r"/_matrix/client/[^/]+/rooms/([^/]+)/send/")


class PacedProxy:
    def __init__(self, upstream: str, gap_s: float) -> None:
        self.upstream = upstream.rstrip("/")
        self.gap_s = gap_s
        self.paced_rooms: set[str] = set()
        self._one_at_a_time = asyncio.Lock()
        self._runner: web.AppRunner | None = None
        self._session: ClientSession | None = None
        self.url = ""

    async def start(self) -> None:
        self._session = ClientSession(timeout=ClientTimeout(total=None), auto_decompress=True)
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._forward)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        if self._session is not None:
            await self._session.close()

    def _paced(self, request: web.Request) -> bool:
        match = _ROOM_SEND.match(request.path)
        if request.method != "PUT" or match is None:
            return False
        return unquote(match.group(1)) in self.paced_rooms

    async def _forward(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        if self._paced(request):
            async with self._one_at_a_time:
                await asyncio.sleep(self.gap_s)
                return await self._pass(request, body)
        return await self._pass(request, body)

    async def _pass(self, request: web.Request, body: bytes) -> web.Response:
        assert self._session is not None
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _DROPPED}
        async with self._session.request(
            request.method,
            self.upstream + request.path_qs,
            headers=headers,
            data=body,
            allow_redirects=False,
        ) as upstream:
            payload = await upstream.read()
            kept = {k: v for k, v in upstream.headers.items() if k.lower() not in _DROPPED}
            return web.Response(status=upstream.status, body=payload, headers=kept)
