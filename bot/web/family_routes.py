"""``/f/<token>``: a family's private page, its settings and listen beacons."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from aiohttp import web

from bot.service import texts
from bot.service.family_settings import FREQUENCIES
from bot.text_norm import of
from bot.web.services import WebServices
from storage.records import Recording

FREQUENCY_LABELS = {
    "immediat": "Dès qu'ils sont publiés (jamais la nuit)",
    "quotidien": "Un résumé chaque soir",
    "hebdomadaire": "Un résumé chaque semaine",
}
NOTICES = {
    "frequence": "C'est noté : votre choix de fréquence est enregistré.",
    "pause": "Les envois sont en pause. La page reste là.",
    "reprendre": "C'est reparti : les envois reprennent.",
    "consentement": "Votre réponse est enregistrée. Merci !",
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
        return await render_page(services, child_id, token, request.query)

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
        await services.settings.leave(child_id)
        return services.render(
            "message.html",
            title="Au revoir",
            message="C'est fait : la page de votre famille et ce qui était gardé sur vous sont "
            "effacés. Merci d'avoir écouté la classe !",
        )

    async def listened(request: web.Request) -> web.Response:
        child_id, _ = await services.family_of(request)
        rec = int(request.match_info["rec"])
        await services.listens.played(child_id, rec)
        return web.Response(status=204)

    app.router.add_get("/f/{token}", page)
    app.router.add_post("/f/{token}/reglages", change)
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
    return services.render(
        "family.html",
        title=f"La classe {of(view.first_name)}",
        child=view.first_name,
        class_name=klass.name,
        school=klass.school_name,
        albums=albums,
        view=view,
        base=base,
        page_url=services.pages.url(token),
        feed_url=services.pages.url(token, "/podcast.xml"),
        welcome="bienvenue" in query,
        notice=NOTICES.get(query.get("fait", "")),
        frequencies=[(f, FREQUENCY_LABELS[f]) for f in FREQUENCIES],
    )


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
                    title=rec.title or f"Enregistrement n°{rec.position}",
                    date=texts.date(rec.published_at or rec.created_at, tz),
                    duration=texts.duration(rec.duration_s),
                    url=f"{base}/audio/{rec.id}.mp3",
                    beacon=f"{base}/ecoute/{rec.id}",
                )
                for rec in recs
            ],
        )
        for album_id, recs in blocks.items()
    ]
