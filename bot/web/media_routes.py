"""Audio behind a family's link: one recording, or a whole album as one.

MP3 (what Safari and every phone play), answered with HTTP Range and HEAD
from the media store (bot/web/ranged.py): iPhones ask ``bytes=0-1`` first and
will not play from a server that ignores it. The URL carries the family's token, so a new
link cuts the audio too; the consent rule is asked at every request.
"""

from __future__ import annotations

import asyncio

from aiohttp import web

from bot.audio import AudioRejected
from bot.i18n import _
from bot.service.listening import GAP_S
from bot.service.mixing import compiled
from bot.web.audio_passes import PASS_S, AudioPass
from bot.web.ranged import stream
from bot.web.services import WebServices

MP3 = "audio/mpeg"


def register(app: web.Application, services: WebServices) -> None:
    async def recording(request: web.Request) -> web.StreamResponse:
        number = _number(request, "rec", services)
        address = services.check_address(request)
        token, generation = request.match_info["token"], services.audience.generation.value
        now = asyncio.get_running_loop().time()
        known = services.passes.get(token, number, generation, now)
        if known is not None:
            return await _file(request, services, known.ref, known.filename)
        linked = await services.pages.recording_behind(token, number)
        if linked is None:
            raise services.lookup_failed(address)
        rec, child_id = linked.recording, linked.child_id
        if rec is None or rec.compat_sha is None:
            raise services.not_found()
        if not await services.audience.may_hear(rec, child_id, linked.tagged):
            raise services.not_found()
        granted = AudioPass(
            child_id, rec.compat_sha, f"{rec.position:02d}.mp3", generation, now + PASS_S
        )
        services.passes.put(token, number, granted, now)
        return await _file(request, services, granted.ref, granted.filename)

    async def album(request: web.Request) -> web.StreamResponse:
        child_id, _token = await services.family_of(request)
        album_id = _number(request, "album", services)
        heard = [
            r
            for r in await services.audience.recordings_for_child(child_id)
            if r.album_id == album_id and r.voice_sha
        ]
        if not heard:
            raise services.not_found()
        heard.sort(key=lambda r: r.position)  # the album's own order
        try:
            mix = await compiled(services.ctx, [r.voice_sha for r in heard if r.voice_sha], GAP_S)
        except AudioRejected as exc:
            raise web.HTTPServiceUnavailable(text=_("Réessayez dans un moment.")) from exc
        return await _file(request, services, mix.compat_sha, "album.mp3")

    app.router.add_get(r"/f/{token}/audio/{rec:\d+}.mp3", recording)
    app.router.add_get(r"/f/{token}/album/{album:\d+}.mp3", album)


def _number(request: web.Request, key: str, services: WebServices) -> int:
    value = int(request.match_info[key])
    if value > 2**62:
        raise services.not_found()
    return value


async def _file(
    request: web.Request, services: WebServices, sha: str, filename: str
) -> web.StreamResponse:
    headers = {
        "Content-Type": MP3,
        "Content-Disposition": f'inline; filename="{filename}"',
        # The bytes behind a URL never change; the link may be revoked.
        "Cache-Control": "private, max-age=86400",
    }
    resp = await stream(request, services.ctx.media, sha, headers)
    if resp is None:
        raise services.not_found()
    return resp
