"""/ecouter N: a whole album as one recording, built once per content."""

from __future__ import annotations

import logging

from bot.audio import AudioRejected
from bot.delivery.failures import recipient_gone
from bot.i18n import _, language, ngettext
from bot.ports import Activity, OutboundAudio, OutboundMessage, RecipientGone
from bot.service.captions import clip_list, clip_of
from bot.service.context import Context
from bot.service.mixing import compiled
from bot.typography import typeset_message
from storage.records import Album, Guardian, Recording

log = logging.getLogger("petites_voix.listening")

GAP_S = 1.5


class Listening:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    async def listen(self, platform: str, chat: str, guardian: Guardian, args: str) -> None:
        repos = self.ctx.repos
        p = self.ctx.adapters[platform].capabilities.command_prefixes[0]
        subs = await repos.families.subscriptions_of_guardian(guardian.id)
        album: Album | None = None
        if args.strip().isdigit():
            for sub in subs:
                album = await repos.albums.by_position(sub.class_id, int(args))
                if album:
                    break
        if album is None:
            await self.ctx.say(
                platform,
                chat,
                _("Quel album ? Tapez {p}albums pour la liste, puis {p}ecouter 2.").format(p=p),
            )
            return
        children = {s.child_id for s in subs if s.class_id == album.class_id}
        recordings = [
            r
            for r in await repos.recordings.published_in_album(album.id)
            if await self._may_hear(r, children)
        ]
        if not recordings:
            await self.ctx.say(
                platform, chat, _("L'album « {title} » est encore vide.").format(title=album.title)
            )
            return
        adapter = self.ctx.adapters[platform]
        try:
            await adapter.show_activity(chat, Activity.UPLOADING_VOICE)
        except Exception as exc:
            log.debug("chat action failed: %s", type(exc).__name__)
        recordings = [r for r in recordings if r.voice_sha]
        try:
            mix = await compiled(self.ctx, [r.voice_sha for r in recordings if r.voice_sha], GAP_S)
        except AudioRejected as exc:
            log.warning("album mix failed: %s", exc.code)
            await self.ctx.say(platform, chat, _("Désolé, je n'arrive pas à assembler l'album."))
            return
        clips = [await clip_of(self.ctx, r, _title(r)) for r in recordings]
        audio = OutboundAudio(
            voice=await self.ctx.media_file(platform, mix.voice_sha, "audio/ogg", "voice"),
            compat=await self.ctx.media_file(platform, mix.compat_sha, mix.compat_mime, "compat"),
            duration_s=mix.duration_s,
            title=ngettext(
                "{title} (album complet, {count} enregistrement)",
                "{title} (album complet, {count} enregistrements)",
                len(recordings),
            ).format(title=album.title, count=len(recordings)),
            waveform=mix.waveform,
        )
        try:
            message = OutboundMessage(
                chat_id=chat,
                text=clip_list(audio.title, clips, GAP_S),
                audio=audio,
                private_to=guardian.user_id,
            )
            receipt = await adapter.send(typeset_message(message, language()))
        except RecipientGone as exc:
            await recipient_gone(self.ctx, platform, guardian.id, exc.reason)
            return
        now = self.ctx.clock.now()
        for variant, ref in receipt.media_refs.items():
            sha = mix.voice_sha if variant == "voice" else mix.compat_sha
            await repos.media_cache.put(sha, platform, ref, now)

    async def _may_hear(self, rec: Recording, children: set[int]) -> bool:
        for child_id in children:
            if await self.ctx.audience.may_hear(rec, child_id):
                return True
        return False


def _title(rec: Recording) -> str:
    return rec.title or _("Enregistrement n°{position}").format(position=rec.position)
