"""``/i/<code>``: the page an invitation link or a slip's QR code opens.

It says who invites and offers each way this service is configured for;
"just this page" makes the family's page and sends the family to it.
"""

from __future__ import annotations

from aiohttp import web

from bot.codes import hash_code, looks_like_code
from bot.i18n import N_, SOURCE, _, language, speaking, supported
from bot.web.services import WebServices
from storage.records import Class as ClassRow
from storage.records import Invitation


def register(app: web.Application, services: WebServices) -> None:
    async def landing(request: web.Request) -> web.Response:
        inv, code = await _invitation(services, request)
        return await _landing(services, inv, code)

    async def just_the_page(request: web.Request) -> web.StreamResponse:
        inv, code = await _invitation(services, request)
        problem = _problem(services, inv)
        if inv.kind != "parent" or inv.child_id is None or problem:
            return await _landing(services, inv, code)
        repos = services.ctx.repos
        if await repos.pages.salt_of(inv.child_id) is None:
            # A new page is one more guardian joining by this invitation.
            if not await repos.invitations.use(inv.id):
                return await _landing(services, inv, code, problem=USED)
            await repos.audit.record(
                "family_page", "page_created", services.ctx.clock.now(), class_id=inv.class_id
            )
        token = await services.pages.token_for(inv.child_id)
        # The language the family read this page in becomes its page's (and
        # a later e-mail subscription's), unless the page already has one.
        form = await request.post()
        if await services.pages.language_chosen(inv.child_id) is None:
            chosen = supported(str(form.get("langue", ""))) or language()
            await repos.pages.set_language(inv.child_id, chosen)
        raise web.HTTPSeeOther(f"/f/{token}?bienvenue=1")

    app.router.add_get("/i/{code}", landing)
    app.router.add_post("/i/{code}/page", just_the_page)


# Marked here, translated when the page is drawn.
EXPIRED = N_("Cette invitation a expiré. Demandez-en une nouvelle à l'enseignant(e).")
USED = N_(
    "Cette invitation a déjà servi autant de fois que prévu. Demandez-en une nouvelle à "
    "l'enseignant(e), ou demandez le lien de la page à l'autre parent."
)


async def _invitation(services: WebServices, request: web.Request) -> tuple[Invitation, str]:
    address = services.check_address(request)
    code = request.match_info["code"]
    inv = (
        await services.ctx.repos.invitations.find(hash_code(code))
        if looks_like_code(code)
        else None
    )
    if inv is None or inv.revoked:
        raise services.lookup_failed(address)
    return inv, code


def _problem(services: WebServices, inv: Invitation) -> str | None:
    if inv.expires_at <= services.ctx.clock.now():
        return EXPIRED
    return None


async def _landing(
    services: WebServices, inv: Invitation, code: str, problem: str | None = None
) -> web.Response:
    repos = services.ctx.repos
    klass = await repos.schools.get_class(inv.class_id)
    if klass is None:
        raise services.not_found()
    child = await repos.families.get_child(inv.child_id) if inv.child_id else None
    settings = services.ctx.settings
    child_name = child.first_name if child else ""
    problem = problem or _problem(services, inv)
    if problem is None and inv.uses >= inv.max_uses:
        has_page = child is not None and await repos.pages.salt_of(child.id) is not None
        if not has_page:
            problem = USED
    telegram = services.invitations.link("telegram", code)
    if telegram is None and settings.telegram and settings.telegram.username:
        telegram = f"https://t.me/{settings.telegram.username}?start={code}"
    # A family reads its language (the visitor's, or the chooser's); teachers keep French.
    with speaking(language() if inv.kind == "parent" else SOURCE):
        return _render(services, inv, klass, child_name, code, telegram, problem)


def _render(
    services: WebServices,
    inv: Invitation,
    klass: ClassRow,
    child: str,
    code: str,
    telegram: str | None,
    problem: str | None,
) -> web.Response:
    settings = services.ctx.settings
    return services.render(
        "invitation.html",
        title=_("Invitation"),
        kind="parent" if inv.kind == "parent" else "teacher",
        child=child,
        class_name=klass.name,
        school=klass.school_name,
        code=code,
        telegram_link=telegram,
        matrix_user=settings.matrix.user_id if settings.matrix else None,
        # A platform that sends letters of links (e-mail) is configured.
        email=any(a.capabilities.links_not_audio for a in services.ctx.adapters.values()),
        problem=_(problem) if problem else None,
    )
