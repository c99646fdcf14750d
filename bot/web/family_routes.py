"""``/f/<token>``: a family's private page, its settings and listen beacons."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from aiohttp import web
from babel.dates import format_date

from bot.i18n import N_, SOURCE, _, language, speaking, supported
from bot.service import texts
from bot.service.family_settings import FREQUENCIES
from bot.web.keepsake_routes import keepsake_of
from bot.web.services import WebServices
from storage.records import Recording

# Marked here, translated when the page is drawn (in the family's language).
FREQUENCY_LABELS = {
    "immediat": N_("Dès qu'ils sont publiés (jamais la nuit)"),
    "quotidien": N_("Un résumé chaque soir"),
    "hebdomadaire": N_("Un résumé chaque semaine"),
}
NOTICES = {
    "frequence": N_("C'est noté : votre choix de fréquence est enregistré."),
    "pause": N_("Les envois sont en pause. La page reste là."),
    "reprendre": N_("C'est reparti : les envois reprennent."),
    "consentement": N_("Votre réponse est enregistrée. Merci !"),
    "langue": N_("C'est noté : la page, les messages et les e-mails sont maintenant en français."),
}
# The consent rule's answer (bot.service.audience.consent_word), as families read it.
CONSENT_WORDS = {
    "oui (famille)": N_("oui (famille)"),
    "oui (enseignant(e))": N_("oui (enseignant(e))"),
    "non (famille)": N_("non (famille)"),
    "non (enseignant(e))": N_("non (enseignant(e))"),
    "pas encore": N_("pas encore"),
}


@dataclass(frozen=True)
class RecordingLine:
    id: int  # the page's anchor #r<id>, which e-mails link to
    title: str
    date: str
    duration: str
    url: str
    beacon: str


@dataclass(frozen=True)
class AlbumBlock:
    title: str
    whole_url: str | None
    recordings: list[RecordingLine]


def register(app: web.Application, services: WebServices) -> None:
    async def page(request: web.Request) -> web.Response:
        child_id, token = await services.family_of(request)
        with speaking(await services.pages.language_of(child_id)):
            return await render_page(services, child_id, token, request.query)

    async def choose_language(request: web.Request) -> web.StreamResponse:
        child_id, token = await services.family_of(request)
        form = await request.post()
        wanted = supported(str(form.get("langue", "")))
        if wanted is None:
            raise web.HTTPSeeOther(f"/f/{token}")
        await services.settings.set_language(child_id, wanted)
        raise web.HTTPSeeOther(f"/f/{token}?fait=langue")

    async def change(request: web.Request) -> web.StreamResponse:
        child_id, token = await services.family_of(request)
        form = await request.post()
        action = str(form.get("action", ""))
        family = services.settings
        if action == "frequence" and form.get("frequence") in FREQUENCIES:
            await family.set_frequency(child_id, str(form["frequence"]))
        elif action in ("pause", "reprendre"):
            await family.set_paused(child_id, action == "pause")
        elif action == "consentement" and form.get("reponse") in ("oui", "non"):
            await family.set_consent(child_id, form["reponse"] == "oui")
        else:
            raise web.HTTPSeeOther(f"/f/{token}")
        raise web.HTTPSeeOther(f"/f/{token}?fait={action}")

    async def new_link(request: web.Request) -> web.StreamResponse:
        child_id, _ = await services.family_of(request)
        token = await services.pages.renew(child_id)
        raise web.HTTPSeeOther(f"/f/{token}?bienvenue=1")

    async def leave(request: web.Request) -> web.StreamResponse:
        child_id, token = await services.family_of(request)
        form = await request.post()
        if form.get("confirmer") != "oui":
            raise web.HTTPSeeOther(f"/f/{token}")
        lang = await services.pages.language_of(child_id)  # read before it is erased
        await services.settings.leave(child_id)
        with speaking(lang):
            return services.render(
                "message.html",
                title=_("Au revoir"),
                message=_(
                    "C'est fait : la page de votre famille et ce qui était gardé sur vous sont "
                    "effacés. Merci d'avoir écouté la classe !"
                ),
            )

    async def listened(request: web.Request) -> web.Response:
        child_id, _ = await services.family_of(request)
        rec = int(request.match_info["rec"])
        await services.listens.played(child_id, rec)
        return web.Response(status=204)

    app.router.add_get("/f/{token}", page)
    app.router.add_post("/f/{token}/reglages", change)
    app.router.add_post("/f/{token}/langue", choose_language)
    app.router.add_post("/f/{token}/nouveau-lien", new_link)
    app.router.add_post("/f/{token}/quitter", leave)
    app.router.add_post(r"/f/{token}/ecoute/{rec:\d{1,18}}", listened)


async def render_page(
    services: WebServices, child_id: int, token: str, query: Mapping[str, str]
) -> web.Response:
    ctx = services.ctx
    view = await services.settings.view(child_id)
    if view is None:
        raise services.not_found()
    klass = await ctx.repos.schools.get_class(view.class_id)
    if klass is None:
        raise services.not_found()
    base = f"/f/{token}"
    albums = await album_blocks(services, child_id, base)
    notice = NOTICES.get(query.get("fait", ""))
    keepsake = await keepsake_of(services, child_id, base)
    return services.render(
        "family.html",
        child=view.first_name,
        class_name=klass.name,
        school=klass.school_name,
        albums=albums,
        view=view,
        base=base,
        page_url=services.pages.url(token),
        feed_url=services.pages.url(token, "/podcast.xml"),
        welcome="bienvenue" in query,
        notice=_(notice) if notice else None,
        consent=_(CONSENT_WORDS.get(view.consent, view.consent)),
        keepsake=keepsake.parts if keepsake else None,
        keepsake_day=keepsake.day if keepsake else "",
        frequencies=[(f, _(FREQUENCY_LABELS[f])) for f in FREQUENCIES],
    )


def page_date(when: datetime, tz: ZoneInfo) -> str:
    """« 24 novembre 2026 » in the family's language (Babel's long date)."""
    if language() == SOURCE:
        return texts.date(when, tz)  # « 1er mars », as the chat says it
    return format_date(when.astimezone(tz).date(), "long", locale=language())


async def album_blocks(services: WebServices, child_id: int, base: str) -> list[AlbumBlock]:
    """What the family may hear, by album: newest album first, newest
    recording first (the order Audience gives)."""
    ctx = services.ctx
    tz = ctx.settings.schedule.timezone
    heard = await services.audience.recordings_for_child(child_id)
    if not heard:
        return []
    child = await ctx.repos.families.get_child(child_id)
    titles = (
        {a.id: a.title for a in await ctx.repos.albums.of_class(child.class_id)} if child else {}
    )
    blocks: dict[int, list[Recording]] = {}
    for rec in heard:
        blocks.setdefault(rec.album_id, []).append(rec)
    return [
        AlbumBlock(
            title=titles.get(album_id, ""),
            whole_url=f"{base}/album/{album_id}.mp3" if len(recs) > 1 else None,
            recordings=[
                RecordingLine(
                    id=rec.id,
                    title=rec.title or recording_number(rec.position),
                    date=page_date(rec.published_at or rec.created_at, tz),
                    duration=texts.duration(rec.duration_s),
                    url=f"{base}/audio/{rec.id}.mp3",
                    beacon=f"{base}/ecoute/{rec.id}",
                )
                for rec in recs
            ],
        )
        for album_id, recs in blocks.items()
    ]


def recording_number(position: int) -> str:
    return _("Enregistrement n°{position}").format(position=position)
