"""The delivery worker of one platform: a durable outbox drained in order.

Rows are only changed after the platform answered, so a stop at any moment
leaves each delivery either sent or still pending: a restart resumes it.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from datetime import datetime, timedelta

from bot.aio import nap
from bot.config import DeliverySettings
from bot.delivery.pacing import Pacer
from bot.delivery.uploads import UploadGate
from bot.ports import (
    ChatAdapter,
    DeliveryError,
    OutboundAudio,
    OutboundMessage,
    PermanentFailure,
    RateLimited,
    RecipientGone,
)
from bot.service.context import Context
from storage.records import Delivery, Recording

log = logging.getLogger("petites_voix.delivery")

BATCH = 200
IN_FLIGHT = 16
IDLE_WAIT_S = 5.0


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(3600, 5 * 2**attempts))


class DeliveryWorker:
    def __init__(self, ctx: Context, adapter: ChatAdapter, settings: DeliverySettings) -> None:
        self.ctx = ctx
        self.adapter = adapter
        self.platform = adapter.platform
        self.settings = settings
        self.pacer = Pacer(adapter.capabilities)
        self.gate = UploadGate()
        self.wake = ctx.wake.delivery.setdefault(self.platform, asyncio.Event())
        self._in_flight: dict[int, asyncio.Task[None]] = {}
        self._slots = asyncio.Semaphore(IN_FLIGHT)
        self._last_noted: datetime | None = None

    async def run(self, stopping: asyncio.Event, drain_timeout: float = 20.0) -> None:
        while not stopping.is_set():
            try:
                wait = await self._launch_due(stopping)
            except Exception:
                log.exception("%s delivery round failed", self.platform)
                wait = IDLE_WAIT_S
            if wait > 0:
                self.wake.clear()
                await nap(wait, self.wake, stopping)
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
        for delivery in due:
            if stopping.is_set():
                return 0
            if delivery.id in self._in_flight:
                continue
            chat_wait = self.pacer.chat_ready_in(delivery.chat_id)
            if chat_wait > 0:
                soonest = min(soonest, chat_wait)
                continue
            global_wait = self.pacer.global_ready_in()
            if global_wait > 0:
                await asyncio.sleep(global_wait)
            await self._slots.acquire()
            self.pacer.take(delivery.chat_id)
            task = asyncio.create_task(self._deliver(delivery))
            self._in_flight[delivery.id] = task
            task.add_done_callback(functools.partial(self._done, delivery.id))
            launched += 1
        if launched:
            return 0
        if not due:
            next_at = await self.ctx.repos.deliveries.next_due_time(self.platform)
            if next_at is not None:
                ahead = (next_at - self.ctx.clock.now()).total_seconds()
                soonest = min(soonest, max(0.05, ahead))
        return max(0.02, soonest)

    def _done(self, delivery_id: int, _task: asyncio.Task[None]) -> None:
        self._in_flight.pop(delivery_id, None)
        self._slots.release()

    async def _deliver(self, delivery: Delivery) -> None:
        repos = self.ctx.repos
        current = await repos.deliveries.get(delivery.id)
        if current is None or current.state != "pending":
            return
        rec = await repos.recordings.get(delivery.recording_id)
        if rec is None or rec.state != "published" or rec.voice_sha is None:
            await repos.deliveries.cancel_open_of_recording(delivery.recording_id)
            return
        try:
            async with self.gate.turn(f"{self.platform}:{rec.voice_sha}"):
                receipt = await self.adapter.send(
                    OutboundMessage(
                        chat_id=delivery.chat_id,
                        audio=await self.audio_of(rec),
                        idempotency_key=f"pv-delivery-{delivery.id}",
                    )
                )
                now = self.ctx.clock.now()
                for variant, ref in receipt.media_refs.items():
                    sha = rec.voice_sha if variant == "voice" else rec.compat_sha
                    if sha:
                        await repos.media_cache.put(sha, self.platform, ref, now)
            await repos.deliveries.mark_sent(delivery.id, receipt.message_id, now)
            await self._note_sent(now)
        except RateLimited as exc:
            if exc.chat_id:
                self.pacer.pause_chat(exc.chat_id, exc.retry_after)
            else:
                self.pacer.pause_all(exc.retry_after)
            retry = self.ctx.clock.now() + timedelta(seconds=exc.retry_after)
            await repos.deliveries.retry_later(delivery.id, retry, exc.reason, count_attempt=False)
            self.wake.set()
        except RecipientGone as exc:
            await repos.adapter_status.error(self.platform, exc.reason, self.ctx.clock.now())
            await repos.deliveries.mark_failed(delivery.id, exc.reason)
            await repos.families.suspend_guardian(delivery.guardian_id, exc.reason)
            await repos.deliveries.fail_open_of_guardian(delivery.guardian_id, exc.reason)
            log.info("a guardian can no longer be reached (%s)", exc.reason)
        except PermanentFailure as exc:
            await repos.adapter_status.error(self.platform, exc.reason, self.ctx.clock.now())
            await repos.deliveries.mark_failed(delivery.id, exc.reason)
        except (DeliveryError, OSError, TimeoutError) as exc:
            await self._retry_or_fail(delivery, getattr(exc, "reason", type(exc).__name__))
        except Exception as exc:
            log.exception("unexpected error while delivering")
            await self._retry_or_fail(delivery, type(exc).__name__)

    async def _note_sent(self, now: datetime) -> None:
        # At most one write a minute: the operator's status, not a hot path.
        if self._last_noted is None or now - self._last_noted > timedelta(minutes=1):
            self._last_noted = now
            await self.ctx.repos.adapter_status.sent(self.platform, now)

    async def _retry_or_fail(self, delivery: Delivery, reason: str) -> None:
        await self.ctx.repos.adapter_status.error(self.platform, reason, self.ctx.clock.now())
        attempts = delivery.attempts + 1
        if attempts >= self.settings.max_attempts:
            await self.ctx.repos.deliveries.mark_failed(delivery.id, reason)
            return
        retry = self.ctx.clock.now() + backoff(attempts)
        await self.ctx.repos.deliveries.retry_later(delivery.id, retry, reason, count_attempt=True)

    async def audio_of(self, rec: Recording) -> OutboundAudio:
        assert rec.voice_sha and rec.compat_sha and rec.compat_mime
        album = await self.ctx.repos.albums.get(rec.album_id)
        klass = await self.ctx.repos.schools.get_class(rec.class_id)
        title = rec.title or f"Enregistrement n°{rec.position}"
        return OutboundAudio(
            voice=await self.ctx.media_file(self.platform, rec.voice_sha, "audio/ogg", "voice"),
            compat=await self.ctx.media_file(
                self.platform, rec.compat_sha, rec.compat_mime, "compat"
            ),
            duration_s=rec.duration_s or 0.0,
            title=f"{album.title} : {title}" if album else title,
            waveform=rec.waveform,
            performer=klass.name if klass else "",
        )
