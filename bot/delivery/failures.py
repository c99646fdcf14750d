"""What a failed send means for the outbox, the same for a recording's
delivery and for a digest: wait out a 429, give up on a parent who is gone,
retry the rest with backoff."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.audio import AudioRejected
from bot.delivery.pacing import Pacer
from bot.i18n import _, speaking
from bot.ports import (
    ROOM_NOT_PRIVATE,
    DeliveryError,
    PermanentFailure,
    PlatformUnavailable,
    RateLimited,
    RecipientGone,
)
from bot.service.context import Context
from storage.repos import Repositories

log = logging.getLogger("petites_voix.delivery")


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(3600, 5 * 2**attempts))


@dataclass(frozen=True)
class OutboxEntry:
    """One delivery or digest, as the failure policy sees it."""

    guardian_id: int
    attempts: int
    # (when, reason, count the attempt)
    retry_later: Callable[[datetime, str, bool], Awaitable[None]]
    # (the repositories to do it with, reason): may run inside a unit of work
    mark_failed: Callable[[Repositories, str], Awaitable[None]]


class FailurePolicy:
    def __init__(self, ctx: Context, platform: str, pacer: Pacer, max_attempts: int) -> None:
        self.ctx = ctx
        self.platform = platform
        self.pacer = pacer
        self.max_attempts = max_attempts

    async def settle(self, exc: Exception, entry: OutboxEntry) -> None:
        repos, now = self.ctx.repos, self.ctx.clock.now()
        match exc:
            case RateLimited():
                self.ctx.metrics.refused(self.platform, exc.retry_after)
                if exc.chat_id:
                    self.pacer.pause_chat(exc.chat_id, exc.retry_after)
                else:
                    self.pacer.pause_all(exc.retry_after)
                await entry.retry_later(now + timedelta(seconds=exc.retry_after), exc.reason, False)
            case PlatformUnavailable():
                # The whole platform waits (not one message's attempts): a relay
                # down for a night must not use up every delivery's tries.
                self.pacer.pause_all(exc.retry_after)
                await repos.adapter_status.error(self.platform, exc.reason, now)
                await entry.retry_later(now + timedelta(seconds=exc.retry_after), exc.reason, False)
            case RecipientGone():
                await repos.adapter_status.error(self.platform, exc.reason, now)
                await recipient_gone(
                    self.ctx, self.platform, entry.guardian_id, exc.reason, entry.mark_failed
                )
            case PermanentFailure():
                await repos.adapter_status.error(self.platform, exc.reason, now)
                await entry.mark_failed(repos, exc.reason)
            case AudioRejected():
                await self._retry_or_fail(entry, f"mix_{exc.code}")
            case DeliveryError():
                await self._retry_or_fail(entry, exc.reason)
            case OSError() | TimeoutError():
                await self._retry_or_fail(entry, type(exc).__name__)
            case _:
                log.error("unexpected error while sending", exc_info=exc)
                await self._retry_or_fail(entry, type(exc).__name__)

    async def _retry_or_fail(self, entry: OutboxEntry, reason: str) -> None:
        now = self.ctx.clock.now()
        await self.ctx.repos.adapter_status.error(self.platform, reason, now)
        attempts = entry.attempts + 1
        if attempts >= self.max_attempts:
            await entry.mark_failed(self.ctx.repos, reason)
        else:
            await entry.retry_later(now + backoff(attempts), reason, True)


async def recipient_gone(
    ctx: Context,
    platform: str,
    guardian_id: int,
    reason: str,
    mark_failed: Callable[[Repositories, str], Awaitable[None]] | None = None,
) -> None:
    """A parent's chat cannot take recordings any more: nothing more is sent
    until they come back (``/reprendre``, or unblocking the bot). A room that
    stopped being private is told how to fix it, without a word of the class.
    ``mark_failed``: the send that met it, failed in the same transaction."""
    repos = ctx.repos
    # The guardian and all that waited for them change together.
    async with repos.unit_of_work() as uow:
        if mark_failed is not None:
            await mark_failed(uow, reason)
        await uow.families.suspend_guardian(guardian_id, reason)
        await uow.deliveries.fail_open_of_guardian(guardian_id, reason)
        await uow.digests.fail_open_of_guardian(guardian_id, reason)
    log.info("a guardian can no longer be reached (%s)", reason)
    guardian = await repos.families.get_guardian(guardian_id)
    adapter = ctx.adapters.get(platform)
    if reason == ROOM_NOT_PRIVATE and guardian is not None and adapter is not None:
        p = adapter.capabilities.command_prefixes[0]
        with speaking(guardian.language):
            await ctx.say(platform, guardian.chat_id, not_private_any_more(p))


def not_private_any_more(p: str) -> str:
    return _(
        "Cette conversation n'est plus privée entre vous et moi : quelqu'un d'autre y a été "
        "invité ou y est entré. Je n'y envoie donc plus les enregistrements de la classe. "
        "Pour les recevoir à nouveau, ouvrez une nouvelle discussion directe avec moi et "
        "écrivez-y {p}reprendre."
    ).format(p=p)
