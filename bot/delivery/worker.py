"""The delivery worker of one platform: a durable outbox drained in order.

Rows are only changed after the platform answered, so a stop at any moment
leaves each delivery either sent or still pending: a restart resumes it.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Coroutine
from datetime import datetime, timedelta
from typing import Any

from bot.aio import nap
from bot.config import DeliverySettings
from bot.delivery.failures import FailurePolicy, OutboxEntry
from bot.delivery.letters import Letters
from bot.delivery.pacing import Pacer
from bot.delivery.sent_marks import SentMarks
from bot.delivery.uploads import UploadGate
from bot.digests.sender import DigestSender
from bot.i18n import _, speaking
from bot.ports import (
    ChatAdapter,
    OutboundAudio,
    OutboundMessage,
    RateLimited,
)
from bot.service.captions import recording_caption
from bot.service.context import Context
from bot.typography import typeset
from storage.records import Delivery, Recording
from storage.repos import Repositories
from storage.repos.deliveries import Outgoing

log = logging.getLogger("petites_voix.delivery")

BATCH = 200
IDLE_WAIT_S = 5.0
PAUSE_S = 1.0  # a longer global wait is a pause (429, relay down), not pacing
# Letters (e-mail) about to go are read together, this many at a time and
# never used older than READ_FRESH_S: about as fresh as one read each, in far
# fewer round trips. Audio platforms read each one (uploads cached meanwhile).
READ_AHEAD = 32
READ_FRESH_S = 0.1


class DeliveryWorker:
    def __init__(self, ctx: Context, adapter: ChatAdapter, settings: DeliverySettings) -> None:
        self.ctx = ctx
        self.adapter = adapter
        self.platform = adapter.platform
        self.settings = settings
        self.pacer = Pacer(adapter.capabilities)
        self.gate = UploadGate()
        self.wake = ctx.wake.delivery.setdefault(self.platform, asyncio.Event())
        self._in_flight: dict[tuple[str, int], asyncio.Task[None]] = {}
        # One delivery at a time per chat, so that a family gets them in order
        # whatever the database lets run side by side.
        self._busy_chats: set[str] = set()
        self._slots = asyncio.Semaphore(adapter.capabilities.sends_at_once)
        self.failures = FailurePolicy(ctx, self.platform, self.pacer, settings.max_attempts)
        self.letters = Letters(ctx)
        self.marks = SentMarks(ctx.repos.deliveries)
        self.digests = DigestSender(ctx, adapter, self.gate, self.failures, self.letters)
        self._last_noted: datetime | None = None

    async def run(self, stopping: asyncio.Event, drain_timeout: float | None = 20.0) -> None:
        """Until ``stopping``; then the sends under way may finish for
        ``drain_timeout`` seconds (None: the caller drains)."""
        while not stopping.is_set():
            try:
                wait = await self._launch_due(stopping)
            except Exception:
                log.exception("%s delivery round failed", self.platform)
                wait = IDLE_WAIT_S
            if wait > 0:
                self.wake.clear()
                await nap(wait, self.wake, stopping)
        if drain_timeout is not None:
            await self.drain(drain_timeout)

    async def drain(self, patience: float | None = None) -> None:
        """Let the sends already under way finish (their answers get stored).

        Past ``patience`` seconds they are abandoned: those deliveries stay pending and
        go out after the next start.
        """
        tasks = list(self._in_flight.values())
        if not tasks:
            return
        _, late = await asyncio.wait(tasks, timeout=patience)
        for task in late:
            task.cancel()
        if late:
            await asyncio.gather(*late, return_exceptions=True)

    async def _launch_due(self, stopping: asyncio.Event) -> float:
        """Start what can go now; return how long to wait before looking again."""
        due = await self.ctx.repos.deliveries.due(self.platform, self.ctx.clock.now(), BATCH)
        soonest = IDLE_WAIT_S
        launched = 0
        # A chat passed over in this round keeps its place: nothing later of
        # it goes before (the awaits below let a busy chat become free).
        passed_over: set[str] = set()
        read: dict[int, Outgoing] = {}
        read_at = 0.0
        for n, delivery in enumerate(due):
            if stopping.is_set():
                return 0
            chat = delivery.chat_id
            if ("delivery", delivery.id) in self._in_flight:
                continue
            if chat in passed_over or chat in self._busy_chats:
                passed_over.add(chat)
                continue
            chat_wait = self.pacer.chat_ready_in(chat)
            if chat_wait > 0:
                soonest = min(soonest, chat_wait)
                passed_over.add(chat)
                continue
            global_wait = self.pacer.global_ready_in()
            if global_wait > PAUSE_S:  # the platform is paused: wait in run(), stoppable
                return global_wait
            if global_wait > 0:
                await asyncio.sleep(global_wait)
            await self._slots.acquire()
            if self.adapter.capabilities.links_not_audio and (
                delivery.id not in read or time.monotonic() - read_at > READ_FRESH_S
            ):
                read_at = time.monotonic()
                read = await self._read_ahead(due[n : n + READ_AHEAD])
            self.pacer.take(delivery.chat_id)
            self._busy_chats.add(delivery.chat_id)
            self._launch(
                ("delivery", delivery.id),
                self._deliver(delivery, read.pop(delivery.id, None)),
                delivery.chat_id,
            )
            launched += 1
        digests_wait = await self._launch_digests(stopping)
        if launched or digests_wait == 0:
            return 0
        soonest = min(soonest, digests_wait)
        if not due:
            next_at = await self.ctx.repos.deliveries.next_due_time(self.platform)
            if next_at is not None:
                ahead = (next_at - self.ctx.clock.now()).total_seconds()
                soonest = min(soonest, max(0.05, ahead))
        return max(0.02, soonest)

    async def _read_ahead(self, coming: list[Delivery]) -> dict[int, Outgoing]:
        """What the next deliveries need, read in one query (a delivery
        found in flight meanwhile reads its own again: it is not sent twice)."""
        ids = [d.id for d in coming if ("delivery", d.id) not in self._in_flight]
        try:
            return await self.ctx.repos.deliveries.outgoing_many(ids, self.platform)
        except Exception:
            log.exception("%s: reading the next deliveries failed", self.platform)
            return {}

    async def _launch_digests(self, stopping: asyncio.Event) -> float:
        """Start the digests due now (each one a few paced messages); 0 if any
        started, else how long until the next one."""
        repos, now = self.ctx.repos, self.ctx.clock.now()
        due = await repos.digests.due(self.platform, now, BATCH)
        launched = 0
        for digest in due:
            if stopping.is_set():
                return 0
            if ("digest", digest.id) in self._in_flight:
                continue
            if self.pacer.chat_ready_in(digest.chat_id) > 0:
                continue
            await self._slots.acquire()
            self._launch(("digest", digest.id), self.digests.send(digest))
            launched += 1
        if launched:
            return 0
        if due:
            return IDLE_WAIT_S
        next_at = await repos.digests.next_due_time(self.platform)
        if next_at is None:
            return IDLE_WAIT_S
        return max(0.05, (next_at - now).total_seconds())

    def _launch(
        self, key: tuple[str, int], work: Coroutine[Any, Any, None], chat_id: str | None = None
    ) -> None:
        task = asyncio.create_task(work)
        self._in_flight[key] = task
        task.add_done_callback(functools.partial(self._done, key, chat_id))

    def _done(self, key: tuple[str, int], chat_id: str | None, _task: asyncio.Task[None]) -> None:
        self._in_flight.pop(key, None)
        if chat_id is not None:
            self._busy_chats.discard(chat_id)
        self._slots.release()
        self.wake.set()  # what waited behind it may go now

    async def _deliver(self, delivery: Delivery, read: Outgoing | None = None) -> None:
        """``read``: what it needs, when read with others just before."""
        repos = self.ctx.repos
        outgoing = read or await repos.deliveries.outgoing(delivery.id, self.platform)
        if outgoing is None or outgoing.state != "pending":
            return
        rec = outgoing.recording
        if rec.state != "published" or rec.voice_sha is None:
            await repos.deliveries.cancel_open_of_recording(delivery.recording_id)
            return
        if not await self.ctx.audience.may_go(rec, outgoing.named_children):
            # A consent was withdrawn since publishing: it waits, unsent.
            await repos.deliveries.hold_for_consent([delivery.id])
            return
        try:
            if self.adapter.capabilities.links_not_audio:
                await self._deliver_letter(delivery, rec, outgoing)
                return
            with speaking(outgoing.guardian_language) as lang:
                caption = await recording_caption(
                    self.ctx,
                    rec,
                    self._title(outgoing),
                    outgoing.class_name or "",
                    outgoing.named_children,
                )
                text = typeset(caption, lang)
            async with self.gate.turn(f"{self.platform}:{rec.voice_sha}") as waited:
                if waited:  # released with others behind a first upload: pace again
                    await self.pacer.wait_turn(delivery.chat_id)
                if outgoing.voice_ref is None:  # a first upload may have cached it since
                    outgoing = (
                        await repos.deliveries.outgoing(delivery.id, self.platform) or outgoing
                    )
                started = time.monotonic()
                with speaking(outgoing.guardian_language):
                    audio = await self._audio(outgoing)
                receipt = await self.adapter.send(
                    OutboundMessage(
                        chat_id=delivery.chat_id,
                        text=text,
                        audio=audio,
                        idempotency_key=f"pv-delivery-{delivery.id}",
                        private_to=outgoing.guardian_user_id,
                    )
                )
                self.ctx.metrics.sent(self.platform, time.monotonic() - started)
                now = self.ctx.clock.now()
                for variant, ref in receipt.media_refs.items():
                    sha = rec.voice_sha if variant == "voice" else rec.compat_sha
                    if sha:
                        await repos.media_cache.put(sha, self.platform, ref, now)
            if await repos.deliveries.mark_sent(delivery.id, receipt.message_id, now):
                await self._note_sent(now)
            else:
                await self._sent_too_late(delivery, receipt.message_id, now)
        except Exception as exc:
            await self.failures.settle(exc, self._entry(delivery))
            if isinstance(exc, RateLimited):
                self.wake.set()

    async def _sent_too_late(self, delivery: Delivery, message_id: str, now: datetime) -> None:
        """The send finished after the delivery left 'pending'. Paused
        meanwhile: the parent has it, it counts as sent. Withdrawn, or held
        for a consent withdrawn meanwhile: it is taken back from the chat
        and stays as it is."""
        state = await self.ctx.repos.deliveries.settle_late_send(delivery.id, message_id, now)
        if state not in ("cancelled", "held"):
            return
        try:
            removed = await self.adapter.delete(delivery.chat_id, message_id)
        except Exception as exc:
            removed = False
            log.info("could not take back a withdrawn recording: %s", type(exc).__name__)
        if not removed:
            log.warning("a recording sent too late could not be taken back from a family")

    async def _deliver_letter(self, delivery: Delivery, rec: Recording, outgoing: Outgoing) -> None:
        """A platform of links (e-mail): one message naming the recording,
        composed now so that the consent rule is read at sending time."""
        repos = self.ctx.repos
        attach = self.adapter.capabilities.attaches_audio
        audio = await self._audio(outgoing) if attach else None
        with speaking(outgoing.guardian_language):
            message = await self.letters.for_delivery(
                delivery, rec, audio, outgoing.named_children, outgoing.class_children
            )
        if message is None:
            await repos.deliveries.hold_for_consent([delivery.id])
            return
        started = time.monotonic()
        receipt = await self.adapter.send(message)
        self.ctx.metrics.sent(self.platform, time.monotonic() - started)
        now = self.ctx.clock.now()
        if await self.marks.mark(delivery.id, receipt.message_id, now):
            await self._note_sent(now)
        else:  # an e-mail cannot be taken back: its page no longer plays it
            await self._sent_too_late(delivery, receipt.message_id, now)

    def _entry(self, delivery: Delivery) -> OutboxEntry:
        deliveries = self.ctx.repos.deliveries

        async def retry_later(when: datetime, reason: str, count: bool) -> None:
            await deliveries.retry_later(delivery.id, when, reason, count_attempt=count)

        async def mark_failed(repos: Repositories, reason: str) -> None:
            await repos.deliveries.mark_failed(delivery.id, reason)

        return OutboxEntry(delivery.guardian_id, delivery.attempts, retry_later, mark_failed)

    async def _note_sent(self, now: datetime) -> None:
        # At most one write a minute: the operator's status, not a hot path.
        if self._last_noted is None or now - self._last_noted > timedelta(minutes=1):
            self._last_noted = now
            await self.ctx.repos.adapter_status.sent(self.platform, now)

    @staticmethod
    def _title(outgoing: Outgoing) -> str:
        rec = outgoing.recording
        title = rec.title or _("Enregistrement n°{position}").format(position=rec.position)
        album = outgoing.album_title
        return f"{album} : {title}" if album else title

    async def _audio(self, outgoing: Outgoing) -> OutboundAudio:
        rec = outgoing.recording
        assert rec.voice_sha and rec.compat_sha and rec.compat_mime
        return OutboundAudio(
            voice=await self.ctx.stored_file(
                rec.voice_sha, "audio/ogg", "voice", outgoing.voice_ref
            ),
            compat=await self.ctx.stored_file(
                rec.compat_sha, rec.compat_mime, "compat", outgoing.compat_ref
            ),
            duration_s=rec.duration_s or 0.0,
            title=self._title(outgoing),
            waveform=rec.waveform,
            performer=outgoing.class_name or "",
        )
