"""Everything the web routes use, built once and passed to each route module."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import jinja2
from aiohttp import web
from markupsafe import Markup

from bot.i18n import LANGUAGES, SOURCE, _, language, ngettext, text_direction
from bot.service.audience import Audience
from bot.service.context import Context
from bot.service.family_pages import FamilyPages
from bot.service.family_settings import FamilySettings
from bot.service.invitations import InvitationService
from bot.service.listens import ListenCounts
from bot.text_norm import of
from bot.web.audio_passes import AudioPasses
from bot.web.security import FailedLookups, client_address


def not_found_text() -> str:
    return _("Cette page n'existe pas, ou son lien ne marche plus.")


@dataclass
class WebServices:
    ctx: Context
    audience: Audience
    pages: FamilyPages
    settings: FamilySettings
    invitations: InvitationService
    listens: ListenCounts
    templates: jinja2.Environment
    lookups: FailedLookups = field(default_factory=FailedLookups)
    passes: AudioPasses = field(default_factory=AudioPasses)

    @classmethod
    def build(cls, ctx: Context) -> WebServices:
        return cls(
            ctx=ctx,
            audience=ctx.audience,
            pages=FamilyPages(ctx),
            settings=FamilySettings(ctx),
            invitations=InvitationService(ctx),
            listens=ListenCounts(ctx),
            templates=templates(),
        )

    def html(self, name: str, **values: object) -> str:
        """A template in the language being spoken now (``bot.i18n.speaking``)."""
        lang = language()
        return self.templates.get_template(name).render(
            lang=lang, direction=text_direction(lang), languages=LANGUAGES, **values
        )

    def render(self, name: str, status: int = 200, **values: object) -> web.Response:
        return web.Response(text=self.html(name, **values), status=status, content_type="text/html")

    def not_found(self) -> web.HTTPNotFound:
        """The same answer for every unknown or dead link: it names nothing."""
        html = self.html("message.html", title=_("Page introuvable"), message=not_found_text())
        return web.HTTPNotFound(text=html, content_type="text/html")

    def too_many(self) -> web.HTTPTooManyRequests:
        html = self.html(
            "message.html",
            title=_("Trop d'essais"),
            message=_("Trop de liens inconnus depuis cette adresse. Réessayez dans un moment."),
        )
        return web.HTTPTooManyRequests(
            text=html, content_type="text/html", headers={"Retry-After": "600"}
        )

    def check_address(self, request: web.Request) -> str:
        address = client_address(request)
        if self.lookups.blocked(address, asyncio.get_running_loop().time()):
            raise self.too_many()
        return address

    def lookup_failed(self, address: str) -> web.HTTPNotFound:
        self.lookups.failed(address, asyncio.get_running_loop().time())
        return self.not_found()

    async def family_of(self, request: web.Request) -> tuple[int, str]:
        """The child whose family owns the link in the URL, and the token;
        an unknown or revoked token is a 404 (and counts against the caller)."""
        address = self.check_address(request)
        token = request.match_info["token"]
        child_id = await self.pages.child_for(token)
        if child_id is None:
            raise self.lookup_failed(address)
        return child_id, token


def templates() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("bot.web", "templates"),
        autoescape=jinja2.select_autoescape(["html", "xml"]),
        trim_blocks=True,
        lstrip_blocks=True,
        extensions=["jinja2.ext.i18n"],
    )
    # The texts go through the catalogs of whoever is being answered (a
    # contextvar, never a global install): new-style, so %(name)s is filled
    # and escaped by Jinja.
    env.install_gettext_callables(_, ngettext, newstyle=True)  # type: ignore[attr-defined]
    env.filters["de"] = of_name
    env.filters["bdi"] = isolated
    return env


def isolated(text: str) -> Markup:
    """A name or title inside a translated sentence, kept in its own
    direction (a French title in an Arabic sentence stays readable)."""
    return Markup("<bdi>{}</bdi>").format(text)


def of_name(name: str) -> str:
    """« de Tom », « d’Inès » in French; the bare name in the other languages,
    whose sentences put it where they need it."""
    return of(name) if language() == SOURCE else name
