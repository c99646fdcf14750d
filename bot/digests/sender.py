"""Sending one digest: a French message, then its recordings (or, beyond
three, one compiled recording of the period), with the delivery worker's
pacing, upload-once gate, media cache and error handling.

Each message sent is recorded (``steps_done``) before the next one goes, so
a stop in the middle resumes after the last message the platform accepted.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import tempfile
from datetime import timedelta
from pathlib import Path

from bot.audio import AudioRejected
from bot.config import DeliverySettings
from bot.delivery.pacing import Pacer
from bot.delivery.uploads import UploadGate
from bot.digests.compose import MAX_SEPARATE, digest_text
from bot.ports import (
    ChatAdapter,
    DeliveryError,
    MediaFile,
    OutboundAudio,
    OutboundMessage,
    PermanentFailure,
    RateLimited,
    Receipt,
    RecipientGone,
)
from bot.service.context import Context
from storage.records import Digest, DigestItem, Mix

log = logging.getLogger("petites_voix.digests")

GAP_S = 1.0  # silence between two clips of a compiled recording


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(3600, 5 * 2**attempts))


class DigestSender:
    def __init__(
        self,
        ctx: Context,
        adapter: ChatAdapter,
        pacer: Pacer,
        gate: UploadGate,
        settings: DeliverySettings,
    ) -> None:
        self.ctx = ctx
        self.adapter = adapter
        self.platform = adapter.platform
        self.pacer = pacer
        self.gate = gate
        self.settings = settings
        self._building: dict[str, asyncio.Lock] = {}

    async def send(self, digest: Digest) -> None:
        repos = self.ctx.repos
        if not await repos.digests.freeze(digest.id):
            return
        current = await repos.digests.get(digest.id)
        assert current is not None
        try:
            await self._send_steps(current)
        except RateLimited as exc:
            if exc.chat_id:
                self.pacer.pause_chat(exc.chat_id, exc.retry_after)
            else:
                self.pacer.pause_all(exc.retry_after)
            retry = self.ctx.clock.now() + timedelta(seconds=exc.retry_after)
            await repos.digests.retry_later(digest.id, retry, exc.reason, count_attempt=False)
        except RecipientGone as exc:
            await repos.adapter_status.error(self.platform, exc.reason, self.ctx.clock.now())
            await repos.digests.mark_failed(digest.id, exc.reason)
            await repos.families.suspend_guardian(digest.guardian_id, exc.reason)
            await repos.deliveries.fail_open_of_guardian(digest.guardian_id, exc.reason)
            await repos.digests.fail_open_of_guardian(digest.guardian_id, exc.reason)
            log.info("a guardian can no longer be reached (%s)", exc.reason)
        except PermanentFailure as exc:
            await repos.adapter_status.error(self.platform, exc.reason, self.ctx.clock.now())
            await repos.digests.mark_failed(digest.id, exc.reason)
        except AudioRejected as exc:
            await self._retry_or_fail(current, f"mix_{exc.code}")
        except (DeliveryError, OSError, TimeoutError) as exc:
            await self._retry_or_fail(current, getattr(exc, "reason", type(exc).__name__))
        except Exception as exc:
            log.exception("unexpected error while sending a digest")
            await self._retry_or_fail(current, type(exc).__name__)

    async def _retry_or_fail(self, digest: Digest, reason: str) -> None:
        await self.ctx.repos.adapter_status.error(self.platform, reason, self.ctx.clock.now())
        attempts = digest.attempts + 1
        if attempts >= self.settings.max_attempts:
            await self.ctx.repos.digests.mark_failed(digest.id, reason)
            return
        retry = self.ctx.clock.now() + backoff(attempts)
        await self.ctx.repos.digests.retry_later(digest.id, retry, reason, count_attempt=True)

    async def _send_steps(self, digest: Digest) -> None:
        repos = self.ctx.repos
        items = await repos.digests.items(digest.id)
        live = [i for i in items if i.live]
        mix: Mix | None = None
        if digest.mix_key is not None:
            mix = await repos.digests.get_mix(digest.mix_key)
        if digest.steps_done == 0:
            if not live:
                await repos.digests.mark_empty(digest.id)
                return
            if len(live) > MAX_SEPARATE and (mix is None or not self._mix_files_exist(mix)):
                mix = await self._build_mix(live)
                await repos.digests.set_mix(digest.id, mix.content_key)
            text = digest_text(digest.period_key, live, mix.duration_s if mix else None)
            limit = self.adapter.capabilities.max_text_length
            if len(text) > limit:
                text = text[: limit - 1] + "…"
            receipt = await self._send(
                OutboundMessage(
                    chat_id=digest.chat_id, text=text, idempotency_key=f"pv-digest-{digest.id}-0"
                )
            )
            await repos.digests.step_done(digest.id, 1, receipt.message_id)
        steps: list[DigestItem | Mix] = [mix] if mix is not None else list(items)
        for step, content in enumerate(steps, start=1):
            if step < digest.steps_done:
                continue
            key = f"pv-digest-{digest.id}-{step}"
            if isinstance(content, Mix):
                title = f"Résumé : {len(live)} enregistrements"
                message_id = await self._send_audio(digest, key, self._mix_audio(content, title))
            elif content.live:
                message_id = await self._send_audio(digest, key, self._item_audio(content))
            else:
                message_id = "-"  # withdrawn since: nothing to send
            await repos.digests.step_done(digest.id, step + 1, message_id)
        await repos.digests.mark_sent(digest.id, self.ctx.clock.now())
        await repos.adapter_status.sent(self.platform, self.ctx.clock.now())

    async def _send(self, message: OutboundMessage) -> Receipt:
        chat = message.chat_id
        wait = max(self.pacer.chat_ready_in(chat), self.pacer.global_ready_in())
        if wait > 0:
            await asyncio.sleep(wait)
        self.pacer.take(chat)
        return await self.adapter.send(message)

    async def _send_audio(self, digest: Digest, key: str, audio: OutboundAudio) -> str:
        voice, compat = audio.voice, audio.compat
        async with self.gate.turn(f"{self.platform}:{voice.path.name}"):
            # Read the cache inside the gate: the first upload may have just filled it.
            cached = {
                "voice": await self.ctx.repos.media_cache.get(voice.path.name, self.platform),
                "compat": await self.ctx.repos.media_cache.get(compat.path.name, self.platform),
            }
            audio = OutboundAudio(
                voice=_with_ref(voice, cached["voice"]),
                compat=_with_ref(compat, cached["compat"]),
                duration_s=audio.duration_s,
                title=audio.title,
                waveform=audio.waveform,
                performer=audio.performer,
            )
            receipt = await self._send(
                OutboundMessage(chat_id=digest.chat_id, audio=audio, idempotency_key=key)
            )
            now = self.ctx.clock.now()
            for variant, ref in receipt.media_refs.items():
                sha = voice.path.name if variant == "voice" else compat.path.name
                await self.ctx.repos.media_cache.put(sha, self.platform, ref, now)
        return receipt.message_id

    def _file(self, sha: str, mime: str, variant: str) -> MediaFile:
        path = self.ctx.media.path(sha)
        return MediaFile(path=path, mime=mime, size=path.stat().st_size, variant=variant)

    def _item_audio(self, item: DigestItem) -> OutboundAudio:
        assert item.voice_sha and item.compat_sha and item.compat_mime
        title = item.title or f"Enregistrement n°{item.position}"
        return OutboundAudio(
            voice=self._file(item.voice_sha, "audio/ogg", "voice"),
            compat=self._file(item.compat_sha, item.compat_mime, "compat"),
            duration_s=item.duration_s or 0.0,
            title=f"{item.album_title} : {title}",
            waveform=item.waveform,
            performer=item.class_name,
        )

    def _mix_audio(self, mix: Mix, title: str) -> OutboundAudio:
        return OutboundAudio(
            voice=self._file(mix.voice_sha, "audio/ogg", "voice"),
            compat=self._file(mix.compat_sha, mix.compat_mime, "compat"),
            duration_s=mix.duration_s,
            title=title,
            waveform=mix.waveform,
        )

    def _mix_files_exist(self, mix: Mix) -> bool:
        return self.ctx.media.exists(mix.voice_sha) and self.ctx.media.exists(mix.compat_sha)

    async def _build_mix(self, items: list[DigestItem]) -> Mix:
        """The period's recordings as one, in album order; built once per
        content, however many families receive it."""
        shas = [i.voice_sha for i in items if i.voice_sha]
        key = hashlib.sha256(("|".join(shas) + f"|gap={GAP_S}").encode()).hexdigest()
        lock = self._building.setdefault(key, asyncio.Lock())
        async with lock:
            known = await self.ctx.repos.digests.get_mix(key)
            if known is not None and self._mix_files_exist(known):
                return known
            with tempfile.TemporaryDirectory(prefix="pv-digest-") as tmp:
                built = await self.ctx.pipeline.concatenate(
                    [self.ctx.media.path(s) for s in shas], Path(tmp), gap_s=GAP_S
                )
                voice = self.ctx.media.put_file(built.voice_path)
                compat = self.ctx.media.put_file(built.compat_path)
            mix = Mix(key, voice, compat, built.compat_mime, built.duration_s, built.waveform)
            await self.ctx.repos.digests.put_mix(mix, self.ctx.clock.now())
        self._building.pop(key, None)
        return mix


def _with_ref(file: MediaFile, ref: str | None) -> MediaFile:
    return MediaFile(file.path, file.mime, file.size, file.variant, cached_ref=ref)
