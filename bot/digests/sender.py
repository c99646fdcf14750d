"""Sending one digest: a French message, then its recordings (or, beyond
three, one compiled recording of the period), with the delivery worker's
pacing, upload-once gate, media cache and error handling.

Each message sent is recorded (``steps_done``) before the next one goes, so
a stop in the middle resumes after the last message the platform accepted.
A pause stops it before its next message; /reprendre goes on from there.
"""

from __future__ import annotations

import logging
import time
from dataclasses import replace
from datetime import datetime

from bot.delivery.failures import FailurePolicy, OutboxEntry
from bot.delivery.letters import Letters
from bot.delivery.uploads import UploadGate
from bot.digests.compose import MAX_SEPARATE, digest_text
from bot.digests.keepsake import (
    announcement_text,
    child_of,
    deletion_day,
    is_year_end,
    keepsake_parts,
    keepsake_text,
    keepsake_title,
)
from bot.i18n import _, language, speaking
from bot.ports import (
    ChatAdapter,
    MediaFile,
    OutboundAudio,
    OutboundMessage,
    Receipt,
)
from bot.service.captions import Clip, clip_list, clip_of, recording_caption
from bot.service.context import Context
from bot.service.mixing import GAP_S, compiled
from bot.typography import typeset_message
from storage.records import Digest, DigestItem, Mix
from storage.repos import Repositories

log = logging.getLogger("petites_voix.digests")


class DigestSender:
    def __init__(
        self,
        ctx: Context,
        adapter: ChatAdapter,
        gate: UploadGate,
        failures: FailurePolicy,
        letters: Letters,
    ) -> None:
        self.ctx = ctx
        self.adapter = adapter
        self.platform = adapter.platform
        self.gate = gate
        self.failures = failures
        self.letters = letters

    async def send(self, digest: Digest) -> None:
        repos = self.ctx.repos
        if not await repos.digests.freeze(digest.id):
            return
        current = await repos.digests.get(digest.id)
        assert current is not None
        try:
            await self._send_steps(current)
        except Exception as exc:
            await self.failures.settle(exc, self._entry(current))

    def _entry(self, digest: Digest) -> OutboxEntry:
        digests = self.ctx.repos.digests

        async def retry_later(when: datetime, reason: str, count: bool) -> None:
            await digests.retry_later(digest.id, when, reason, count_attempt=count)

        async def mark_failed(repos: Repositories, reason: str) -> None:
            await repos.digests.mark_failed(digest.id, reason)

        return OutboxEntry(digest.guardian_id, digest.attempts, retry_later, mark_failed)

    async def _send_steps(self, digest: Digest) -> None:
        repos = self.ctx.repos
        guardian = await repos.families.get_guardian(digest.guardian_id)
        if guardian is None:
            return  # erased meanwhile: its digests went with it
        with speaking(guardian.language):
            await self._steps(digest, guardian.user_id)

    async def _steps(self, digest: Digest, reader: str) -> None:
        repos = self.ctx.repos
        if is_year_end(digest.period_key):
            await self._send_year_end(digest, reader)
            return
        if digest.steps_done == 0:
            # Its content is fixed now: what a consent holds back leaves it.
            await self._hold_back(await repos.digests.items(digest.id))
        items = await repos.digests.items(digest.id)
        if self.adapter.capabilities.links_not_audio:
            await self._send_letter(digest, items)
            return
        live = [i for i in items if i.live]
        mix: Mix | None = None
        mixed: list[DigestItem] = []  # what the compiled recording holds, in order
        if digest.mix_key is not None:
            mix = await repos.mixes.get(digest.mix_key)
        if digest.steps_done == 0:
            if not live:
                await repos.digests.mark_empty(digest.id)
                return
            if len(live) > MAX_SEPARATE:
                mixed = [i for i in live if i.voice_sha]
                mix = await compiled(self.ctx, [i.voice_sha for i in mixed if i.voice_sha])
                await repos.digests.set_mix(digest.id, mix.content_key)
            text = digest_text(digest.period_key, live, mix.duration_s if mix else None)
            limit = self.adapter.capabilities.max_text_length
            if len(text) > limit:
                text = text[: limit - 1] + "…"
            if not await self._send_head(digest, reader, text):
                return
        elif mix is not None and digest.steps_done == 1:
            # Its compiled recording has not gone yet: without what was
            # withdrawn since, or lost its consent.
            mixed = [i for i in live if i.voice_sha and await self._may_go(i)]
            shas = [i.voice_sha for i in mixed if i.voice_sha]
            mix = await compiled(self.ctx, shas) if shas else None
            if mix is not None and mix.content_key != digest.mix_key:
                await repos.digests.set_mix(digest.id, mix.content_key)
        steps: list[DigestItem | Mix] = [mix] if mix is not None else list(items)
        for step, content in enumerate(steps, start=1):
            if step < digest.steps_done:
                continue
            if not await repos.digests.may_go_on(digest.id):
                return  # paused (or cancelled) meanwhile: stops here
            key = f"pv-digest-{digest.id}-{step}"
            delivery_id = None
            if isinstance(content, Mix):
                title = _("Résumé : {count} enregistrements").format(count=len(live))
                text = clip_list(title, await self._clips(mixed), GAP_S)
                message_id = await self._send_audio(
                    digest, key, await self._mix_audio(content, title), reader, text
                )
            elif content.live and await self._may_go(content):
                audio = await self._item_audio(content)
                text = await self._item_caption(content, audio.title)
                message_id = await self._send_audio(digest, key, audio, reader, text)
                delivery_id = content.delivery_id
            else:
                message_id = "-"  # withdrawn since: nothing to send
            if not await self._step_done(digest, step + 1, message_id, delivery_id):
                return
        await self._sent(digest)

    async def _sent(self, digest: Digest) -> None:
        repos = self.ctx.repos
        if await repos.digests.mark_sent(digest.id, self.ctx.clock.now()):
            self.ctx.metrics.digests_sent.labels(self.platform).inc()
            await repos.adapter_status.sent(self.platform, self.ctx.clock.now())

    async def _send_head(self, digest: Digest, reader: str, text: str) -> bool:
        """The digest's first message, its text, recorded as step 1; False
        when the digest was cancelled meanwhile (see ``_step_done``)."""
        receipt = await self._send(
            OutboundMessage(
                chat_id=digest.chat_id,
                text=text,
                idempotency_key=f"pv-digest-{digest.id}-0",
                private_to=reader,
            )
        )
        return await self._step_done(digest, 1, receipt.message_id, None)

    async def _step_done(
        self, digest: Digest, step: int, message_id: str, delivery_id: int | None
    ) -> bool:
        """Record a message sent; when the digest was cancelled meanwhile (a
        pause before its first message), that message is taken back: what it
        announced comes again in the digest after /reprendre."""
        if await self.ctx.repos.digests.step_done(digest.id, step, message_id, delivery_id):
            return True
        if message_id != "-":
            try:
                await self.adapter.delete(digest.chat_id, message_id)
            except Exception as exc:
                log.info("could not take back a digest message: %s", type(exc).__name__)
        return False

    async def _send_year_end(self, digest: Digest, reader: str) -> None:
        """The announcement (one message), or a keepsake: a message, then
        one compiled recording per album, consent asked again before each."""
        repos = self.ctx.repos
        deletion = deletion_day(self.ctx, digest.period_key)
        child_id = child_of(digest.period_key)
        child = None if child_id is None else await repos.families.get_child(child_id)
        if child_id is not None and child is None:
            await repos.digests.mark_empty(digest.id)  # erased meanwhile
            return
        parts = [] if child is None else await keepsake_parts(self.ctx, child)
        if digest.steps_done == 0:
            if child is None:
                text = announcement_text(deletion)
            elif not any(p.recordings for p in parts):
                await repos.digests.mark_empty(digest.id)
                return
            else:
                klass = await repos.schools.get_class(child.class_id)
                text = keepsake_text(child, klass.name if klass else "", parts, deletion)
            if not await self._send_head(digest, reader, text):
                return
        assert child is not None or not parts
        for step, part in enumerate(parts, start=1):
            if step < digest.steps_done:
                continue
            message_id = "-"  # nothing of this album for this family (now)
            if part.recordings and child is not None:
                mix = await compiled(
                    self.ctx, [r.voice_sha for r in part.recordings if r.voice_sha]
                )
                audio = await self._mix_audio(mix, keepsake_title(child, part.album))
                clips = [
                    await clip_of(self.ctx, r, _title(r.title, r.position))
                    for r in part.recordings
                    if r.voice_sha
                ]
                text = clip_list(audio.title, clips, GAP_S)
                key = f"pv-digest-{digest.id}-{step}"
                message_id = await self._send_audio(digest, key, audio, reader, text)
            if not await self._step_done(digest, step + 1, message_id, None):
                return
        await self._sent(digest)

    async def _may_go(self, item: DigestItem) -> bool:
        """Asked again before each recording: a consent may be withdrawn mid-way."""
        rec = await self.ctx.repos.recordings.get(item.recording_id)
        return rec is not None and await self.ctx.audience.may_go(rec)

    async def _hold_back(self, items: list[DigestItem]) -> None:
        blocked = [i.delivery_id for i in items if i.live and not await self._may_go(i)]
        if blocked:
            await self.ctx.repos.deliveries.hold_for_consent_in_digest(blocked)

    async def _send_letter(self, digest: Digest, items: list[DigestItem]) -> None:
        """A platform of links (e-mail): the whole digest is one message."""
        repos = self.ctx.repos
        if digest.steps_done == 0:
            live = [i.recording_id for i in items if i.live]
            message = await self.letters.for_digest(digest, live)
            if message is None:
                await repos.digests.mark_empty(digest.id)
                return
            receipt = await self._send(message)
            await repos.digests.step_done(digest.id, 1, receipt.message_id)
        await repos.digests.mark_sent(digest.id, self.ctx.clock.now())
        await repos.adapter_status.sent(self.platform, self.ctx.clock.now())

    async def _send(self, message: OutboundMessage) -> Receipt:
        if not self.adapter.capabilities.links_not_audio:  # a chat, not an e-mail
            message = typeset_message(message, language())
        await self.failures.pacer.wait_turn(message.chat_id)
        started = time.monotonic()
        receipt = await self.adapter.send(message)
        self.ctx.metrics.sent(self.platform, time.monotonic() - started)
        return receipt

    async def _clips(self, items: list[DigestItem]) -> list[Clip]:
        """The lines of a compiled digest: the album named when there are several."""
        several = len({(i.class_name, i.album_title) for i in items}) > 1
        clips = []
        for item in items:
            title = _title(item.title, item.position)
            if several:
                title = f"{item.album_title} : {title}"
            rec = await self.ctx.repos.recordings.get(item.recording_id)
            clip = Clip(title, item.duration_s or 0.0)
            if rec is not None:
                clip = await clip_of(self.ctx, rec, title)
            clips.append(clip)
        return clips

    async def _item_caption(self, item: DigestItem, title: str) -> str:
        repos = self.ctx.repos
        rec = await repos.recordings.get(item.recording_id)
        if rec is None:
            return ""
        named = await repos.recordings.tagged_children(rec.id)
        return await recording_caption(self.ctx, rec, title, item.class_name, named)

    async def _send_audio(
        self, digest: Digest, key: str, audio: OutboundAudio, reader: str, text: str = ""
    ) -> str:
        voice, compat = audio.voice, audio.compat
        async with self.gate.turn(f"{self.platform}:{voice.ref}"):
            # Read the cache inside the gate: the first upload may have just filled it.
            cached = {
                "voice": await self.ctx.repos.media_cache.get(voice.ref, self.platform),
                "compat": await self.ctx.repos.media_cache.get(compat.ref, self.platform),
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
                OutboundMessage(
                    chat_id=digest.chat_id,
                    text=text,
                    audio=audio,
                    idempotency_key=key,
                    private_to=reader,
                )
            )
            now = self.ctx.clock.now()
            for variant, ref in receipt.media_refs.items():
                sha = voice.ref if variant == "voice" else compat.ref
                await self.ctx.repos.media_cache.put(sha, self.platform, ref, now)
        return receipt.message_id

    async def _file(self, sha: str, mime: str, variant: str) -> MediaFile:
        return await self.ctx.stored_file(sha, mime, variant, None)

    async def _item_audio(self, item: DigestItem) -> OutboundAudio:
        assert item.voice_sha and item.compat_sha and item.compat_mime
        title = _title(item.title, item.position)
        return OutboundAudio(
            voice=await self._file(item.voice_sha, "audio/ogg", "voice"),
            compat=await self._file(item.compat_sha, item.compat_mime, "compat"),
            duration_s=item.duration_s or 0.0,
            title=f"{item.album_title} : {title}",
            waveform=item.waveform,
            performer=item.class_name,
        )

    async def _mix_audio(self, mix: Mix, title: str) -> OutboundAudio:
        return OutboundAudio(
            voice=await self._file(mix.voice_sha, "audio/ogg", "voice"),
            compat=await self._file(mix.compat_sha, mix.compat_mime, "compat"),
            duration_s=mix.duration_s,
            title=title,
            waveform=mix.waveform,
        )


def _with_ref(file: MediaFile, ref: str | None) -> MediaFile:
    return replace(file, cached_ref=ref)


def _title(title: str, position: int) -> str:
    return title or _("Enregistrement n°{position}").format(position=position)
