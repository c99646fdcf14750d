"""The year's keepsake on the family page: during the end-of-year window,
each album's compiled recording as a download, exactly what the family's
keepsake message holds (``bot.digests.keepsake.keepsake_parts``: the
consent rule, asked at every request). Behind the family's token, so a new
link cuts the downloads too.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import date
from urllib.parse import quote

from aiohttp import web
from babel.dates import format_date

from bot.audio import AudioRejected
from bot.digests.keepsake import AlbumPart, keepsake_parts
from bot.i18n import _, language
from bot.service import texts
from bot.service.mixing import compiled
from bot.service.year_end import YearEnd
from bot.web.ranged import stream
from bot.web.services import WebServices
from storage.records import Child

MP3 = "audio/mpeg"


@dataclass(frozen=True)
class KeepsakeLine:
    title: str
    url: str
    filename: str
    count: int
    duration: str


@dataclass(frozen=True)
class Keepsake:
    day: str  # the deletion day, in the page's language
    parts: list[KeepsakeLine]


def file_name(child: str, album: str) -> str:
    """« Lina - Le loup.mp3 »: readable, without what a file system refuses."""
    raw = f"{child} - {album}"
    kept = "".join(c for c in raw if c.isprintable() and c not in '\\/:*?"<>|')
    return (" ".join(kept.split())[:120] or "souvenir") + ".mp3"


def disposition(name: str) -> str:
    """An attachment named ``name`` (RFC 6266: an ASCII fallback, then UTF-8)."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    ascii_name = ascii_name.replace('"', "").replace("\\", "") or "souvenir.mp3"
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe='')}"


def long_date(day: date) -> str:
    return format_date(day, "long", locale=language())


async def _parts(services: WebServices, child: Child) -> list[AlbumPart]:
    return [p for p in await keepsake_parts(services.ctx, child) if p.recordings]


async def keepsake_of(services: WebServices, child_id: int, base: str) -> Keepsake | None:
    """The family page's keepsake block, or None outside the window (or empty)."""
    plan = await YearEnd(services.ctx).keepsake_plan()
    child = await services.ctx.repos.families.get_child(child_id)
    if plan is None or child is None:
        return None
    parts = await _parts(services, child)
    if not parts:
        return None
    return Keepsake(
        day=long_date(plan.last_day),
        parts=[
            KeepsakeLine(
                title=p.album.title,
                url=f"{base}/souvenir/{p.album.id}.mp3",
                filename=file_name(child.first_name, p.album.title),
                count=len(p.recordings),
                duration=texts.duration(p.duration_s),
            )
            for p in parts
        ],
    )


def register(app: web.Application, services: WebServices) -> None:
    async def download(request: web.Request) -> web.StreamResponse:
        child_id, _token = await services.family_of(request)
        album_id = int(request.match_info["album"])
        ctx = services.ctx
        child = await ctx.repos.families.get_child(child_id)
        if child is None or await YearEnd(ctx).keepsake_plan() is None:
            raise services.not_found()
        part = next((p for p in await _parts(services, child) if p.album.id == album_id), None)
        if part is None:
            raise services.not_found()
        try:
            # The same compilation as the keepsake message: built once, kept.
            mix = await compiled(ctx, [r.voice_sha for r in part.recordings if r.voice_sha])
        except AudioRejected as exc:
            raise web.HTTPServiceUnavailable(text=_("Réessayez dans un moment.")) from exc
        headers = {
            "Content-Type": MP3,
            "Content-Disposition": disposition(file_name(child.first_name, part.album.title)),
            "Cache-Control": "private, max-age=86400",
        }
        # Straight from the media store, with Range (a phone resumes a download).
        resp = await stream(request, ctx.media, mix.compat_sha, headers)
        if resp is None:
            raise services.not_found()
        return resp

    app.router.add_get(r"/f/{token}/souvenir/{album:\d{1,18}}.mp3", download)
