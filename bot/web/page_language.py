"""Which language a page speaks, when no family tells it.

``?lang=`` when the link or the chooser says so, else the browser's
``Accept-Language`` when it names one of the six, else French. A family's
own page and feed speak the family's stored language instead
(``FamilyPages.language_of``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from bot.i18n import SOURCE, speaking, supported

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def accepted(header: str) -> str | None:
    """The browser's most wanted language among the six (q-values honoured)."""
    ranked: list[tuple[float, int, str]] = []
    for index, part in enumerate(header.split(",")[:20]):
        tag, _, params = part.strip().partition(";")
        weight = 1.0
        params = params.strip()
        if params.startswith("q="):
            try:
                weight = float(params[2:])
            except ValueError:
                continue
        code = supported(tag.strip())
        if code and weight > 0:
            ranked.append((-weight, index, code))
    return min(ranked)[2] if ranked else None


def of_request(request: web.Request) -> str:
    return (
        supported(request.query.get("lang"))
        or accepted(request.headers.get("Accept-Language", ""))
        or SOURCE
    )


@web.middleware
async def speak_the_visitors_language(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every answer (errors included) in the visitor's language, unless the
    handler knows the family and speaks its language instead."""
    with speaking(of_request(request)):
        return await handler(request)
