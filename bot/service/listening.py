"""/ecouter N: a whole album as one recording, built once per content."""

from __future__ import annotations

import hashlib
import json
import logging
import tempfile
from pathlib import Path

from bot.audio import AudioRejected
from bot.ports import Activity, MediaFile, OutboundAudio, OutboundMessage
from bot.service.context import Context
from storage.records import Album, Guardian

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
        mix = await repos.db.fetchrow(
            "SELECT content_key, voice_sha, compat_sha, compat_mime, duration_s, waveform "
            "FROM album_mixes WHERE album_id = $1",
            album.id,
        )
        if mix is None or mix["content_key"] != key or not self.ctx.media.exists(mix["voice_sha"]):
            try:
                with tempfile.TemporaryDirectory(prefix="pv-album-") as tmp:
                    built = await self.ctx.pipeline.concatenate(
                        [self.ctx.media.path(s) for s in shas], Path(tmp), gap_s=GAP_S
                    )
                    voice = self.ctx.media.put_file(built.voice_path)
                    compat = self.ctx.media.put_file(built.compat_path)
            except AudioRejected as exc:
                log.warning("album mix failed: %s", exc.code)
                await self.ctx.say(platform, chat, "Désolé, je n'arrive pas à assembler l'album.")
                return
            await repos.db.execute(
                """INSERT INTO album_mixes (album_id, content_key, voice_sha, compat_sha,
                     compat_mime, duration_s, waveform) VALUES ($1, $2, $3, $4, $5, $6, $7)
                   ON CONFLICT (album_id) DO UPDATE SET content_key = excluded.content_key,
                     voice_sha = excluded.voice_sha, compat_sha = excluded.compat_sha,
                     compat_mime = excluded.compat_mime, duration_s = excluded.duration_s,
                     waveform = excluded.waveform""",
                album.id,
                key,
                voice,
                compat,
                built.compat_mime,
                built.duration_s,
                json.dumps(list(built.waveform)),
            )
            mix = await repos.db.fetchrow(
                "SELECT content_key, voice_sha, compat_sha, compat_mime, duration_s, waveform "
                "FROM album_mixes WHERE album_id = $1",
                album.id,
            )
        assert mix is not None
        audio = OutboundAudio(
            voice=await self._file(platform, mix["voice_sha"], "audio/ogg", "voice"),
            compat=await self._file(platform, mix["compat_sha"], mix["compat_mime"], "compat"),
            duration_s=float(mix["duration_s"]),
            title=f"{album.title} (album complet, {len(recordings)} enregistrements)",
            waveform=tuple(json.loads(mix["waveform"])),
        )
        receipt = await adapter.send(OutboundMessage(chat_id=chat, audio=audio))
        now = self.ctx.clock.now()
        for variant, ref in receipt.media_refs.items():
            sha = mix["voice_sha"] if variant == "voice" else mix["compat_sha"]
            await repos.media_cache.put(sha, platform, ref, now)

    async def _file(self, platform: str, sha: str, mime: str, variant: str) -> MediaFile:
        path = self.ctx.media.path(sha)
        return MediaFile(
            path=path,
            mime=mime,
            size=path.stat().st_size,
            variant=variant,
            cached_ref=await self.ctx.repos.media_cache.get(sha, platform),
        )
