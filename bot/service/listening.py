"""/ecouter N: a whole album as one recording, built once per content."""

from __future__ import annotations

import hashlib
import logging
import tempfile
from pathlib import Path

from bot.audio import AudioRejected
from bot.ports import Activity, OutboundAudio, OutboundMessage
from bot.service.context import Context
from storage.records import Album, Guardian
from storage.repos.albums import AlbumMix

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
                platform, chat, f"Quel album ? Tapez {p}albums pour la liste, puis {p}ecouter 2."
            )
            return
        recordings = [
            r
            for r in await repos.recordings.published_in_album(album.id)
            if not r.is_private or r.private_child_id in {s.child_id for s in subs}
        ]
        if not recordings:
            await self.ctx.say(platform, chat, f"L'album « {album.title} » est encore vide.")
            return
        adapter = self.ctx.adapters[platform]
        try:
            await adapter.show_activity(chat, Activity.UPLOADING_VOICE)
        except Exception as exc:
            log.debug("chat action failed: %s", type(exc).__name__)
        shas = [r.voice_sha for r in recordings if r.voice_sha]
        key = hashlib.sha256("|".join(shas).encode()).hexdigest()
        mix = await repos.albums.mix(album.id)
        if mix is None or mix.content_key != key or not self.ctx.media.exists(mix.voice_sha):
            try:
                with tempfile.TemporaryDirectory(prefix="pv-album-") as tmp:
                    built = await self.ctx.pipeline.concatenate(
                        [self.ctx.media.path(s) for s in shas], Path(tmp), gap_s=GAP_S
                    )
                    mix = AlbumMix(
                        content_key=key,
                        voice_sha=self.ctx.media.put_file(built.voice_path),
                        compat_sha=self.ctx.media.put_file(built.compat_path),
                        compat_mime=built.compat_mime,
                        duration_s=built.duration_s,
                        waveform=built.waveform,
                    )
            except AudioRejected as exc:
                log.warning("album mix failed: %s", exc.code)
                await self.ctx.say(platform, chat, "Désolé, je n'arrive pas à assembler l'album.")
                return
            await repos.albums.save_mix(album.id, mix)
        audio = OutboundAudio(
            voice=await self.ctx.media_file(platform, mix.voice_sha, "audio/ogg", "voice"),
            compat=await self.ctx.media_file(platform, mix.compat_sha, mix.compat_mime, "compat"),
            duration_s=mix.duration_s,
            title=f"{album.title} (album complet, {len(recordings)} enregistrements)",
            waveform=mix.waveform,
        )
        receipt = await adapter.send(OutboundMessage(chat_id=chat, audio=audio))
        now = self.ctx.clock.now()
        for variant, ref in receipt.media_refs.items():
            sha = mix.voice_sha if variant == "voice" else mix.compat_sha
            await repos.media_cache.put(sha, platform, ref, now)
