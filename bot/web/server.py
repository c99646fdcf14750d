"""The web application and its listener, inside the service's event loop.

``build_app`` makes the Application from the services object; each route
module registers its own routes, and more modules (e-mail, health, metrics)
are handed in as ``extra`` registrars.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from importlib import resources

from aiohttp import web

from bot.i18n import _
from bot.web import family_routes, feed, invite_routes, keepsake_routes, media_routes
from bot.web.page_language import speak_the_visitors_language
from bot.web.security import add_headers
from bot.web.services import WebServices

log = logging.getLogger("petites_voix.web")

Registrar = Callable[[web.Application, WebServices], None]

ROUTES: tuple[Registrar, ...] = (
    invite_routes.register,
    family_routes.register,
    media_routes.register,
    keepsake_routes.register,
    feed.register,
)
STATIC = ("style.css", "ecoute.js")
TYPES = {".css": "text/css", ".js": "text/javascript"}


def build_app(services: WebServices, extra: Sequence[Registrar] = ()) -> web.Application:
    app = web.Application(  # forms only: no uploads here
        client_max_size=64 * 1024, middlewares=[speak_the_visitors_language]
    )
    app.on_response_prepare.append(add_headers)
    for register in (*ROUTES, _static_routes, *extra):
        register(app, services)
    return app


def _static_routes(app: web.Application, services: WebServices) -> None:
    folder = resources.files("bot.web") / "static"
    files = {name: (folder / name).read_bytes() for name in STATIC}

    async def static(request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if name not in files:
            raise services.not_found()
        return web.Response(
            body=files[name],
            content_type=TYPES[name[name.rfind(".") :]],
            charset="utf-8",
            headers={"Cache-Control": "public, max-age=3600"},
        )

    async def robots(request: web.Request) -> web.Response:
        return web.Response(text="User-agent: *\nDisallow: /\n")

    async def home(request: web.Request) -> web.Response:
        return services.render(
            "message.html",
            title="Petites Voix",
            message=_(
                "Les enregistrements de la classe, livrés aux familles. Ouvrez le lien "
                "de votre invitation ou de la page de votre famille."
            ),
        )

    app.router.add_get("/static/{name}", static)
    app.router.add_get("/robots.txt", robots)
    app.router.add_get("/", home)


class WebServer:
    """Listens on ``[web] listen``; ``port`` tells the one bound (for port 0)."""

    def __init__(self, app: web.Application, host: str, port: int) -> None:
        self.app = app
        self.host = host
        self.port = port
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        # access_log off: every URL here carries a family's token or a code.
        runner = web.AppRunner(self.app, access_log=None, handle_signals=False)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port)
        await site.start()
        self._runner = runner
        for address in runner.addresses:
            if isinstance(address, tuple):
                self.port = int(address[1])
                break
        log.info("web pages listening on %s:%d", self.host, self.port)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
