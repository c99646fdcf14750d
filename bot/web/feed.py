"""``/f/<token>/podcast.xml``: the family's recordings as a private podcast.

RSS 2.0 with iTunes tags (feedgen), one item per recording the family may
hear now (the consent rule decides, as on the page), each with a GUID that
never changes and its MP3 as enclosure. ``itunes:block`` and
``podcast:block`` keep it out of podcast directories; the token in its URL
is the only access control, and a new link kills the feed too.
"""

from __future__ import annotations

import uuid
from typing import Any

from aiohttp import web
from feedgen.ext.base import BaseExtension
from feedgen.feed import FeedGenerator
from feedgen.util import xml_elem

from bot.i18n import _, language, speaking
from bot.web.family_routes import recording_number
from bot.web.services import WebServices, of_name

PODCAST_NS = "https://podcastindex.org/namespace/1.0"
# GUIDs are names in this space: stable across restarts, copies and new links.
GUID_SPACE = uuid.UUID("6f1d2c1e-5b7a-4c55-9a43-8d3c2f0b7e21")


class PodcastBlock(BaseExtension):  # type: ignore[misc]
    """``<podcast:block>yes</podcast:block>`` (Podcasting 2.0), which feedgen lacks."""

    def extend_ns(self) -> dict[str, str]:
        return {"podcast": PODCAST_NS}

    def extend_rss(self, feed: Any) -> Any:
        channel = feed[0]
        block = xml_elem(f"{{{PODCAST_NS}}}block", channel)
        block.text = "yes"
        return feed


def recording_guid(recording_id: int, created_at: str) -> str:
    return f"urn:uuid:{uuid.uuid5(GUID_SPACE, f'recording:{recording_id}:{created_at}')}"


def register(app: web.Application, services: WebServices) -> None:
    async def podcast(request: web.Request) -> web.Response:
        child_id, token = await services.family_of(request)
        with speaking(await services.pages.language_of(child_id)):
            body = await build_feed(services, child_id, token)
        return web.Response(body=body, content_type="application/rss+xml", charset="utf-8")

    app.router.add_get("/f/{token}/podcast.xml", podcast)


async def build_feed(services: WebServices, child_id: int, token: str) -> bytes:
    ctx = services.ctx
    child = await ctx.repos.families.get_child(child_id)
    klass = await ctx.repos.schools.get_class(child.class_id) if child else None
    if child is None or klass is None:
        raise services.not_found()
    albums = {a.id: a.title for a in await ctx.repos.albums.of_class(klass.id)}
    page = services.pages.url(token)

    fg = FeedGenerator()
    fg.load_extension("podcast")
    fg.register_extension("podcastblock", PodcastBlock, atom=False, rss=True)
    # In the family's language; names and titles as the teacher wrote them.
    fg.title(
        _("La classe {of_child}").format(of_child=of_name(child.first_name)) + " · Petites Voix"
    )
    fg.link(href=page, rel="alternate")
    fg.description(
        _(
            "Les enregistrements de la classe « {class_name} » ({school}), pour la famille "
            "{of_child}. Flux privé : ne le partagez pas."
        ).format(
            class_name=klass.name, school=klass.school_name, of_child=of_name(child.first_name)
        )
    )
    fg.language(language())
    fg.podcast.itunes_author(klass.school_name)
    fg.podcast.itunes_block(True)
    fg.podcast.itunes_explicit("no")
    fg.podcast.itunes_category("Education")
    fg.podcast.itunes_type("episodic")

    for rec in await services.audience.recordings_for_child(child_id):
        if rec.compat_sha is None:
            continue
        size = await ctx.media.size(rec.compat_sha)
        if size is None:
            continue
        title = rec.title or recording_number(rec.position)
        album = albums.get(rec.album_id, "")
        entry = fg.add_entry(order="append")
        entry.guid(recording_guid(rec.id, rec.created_at.isoformat()), permalink=False)
        entry.title(f"{title} · {album}" if album else title)
        entry.description(_("« {album} », {title}.").format(album=album, title=title))
        entry.link(href=page)
        entry.enclosure(
            services.pages.url(token, f"/audio/{rec.id}.mp3"),
            str(size),
            "audio/mpeg",
        )
        entry.published(rec.published_at or rec.created_at)
        entry.podcast.itunes_duration(round(rec.duration_s or 0))
    xml: bytes = fg.rss_str(pretty=True)
    return xml
