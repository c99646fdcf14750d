"""Long polling that confirms an update to Telegram only once it was handled.

PTB's ``Updater`` confirms a batch (the next ``getUpdates`` carries a higher
``offset``) as soon as it is queued, before the handlers ran: a crash in
between loses those updates, a teacher's voice note among them. Here a batch
is handled update by update, and only then is the next ``getUpdates`` sent.

With a state directory, the id of the last handled update is also written
there after each update, so that a restart does not handle again what was
handled but not yet confirmed (an invitation code answered twice).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

from telegram import Bot, Update
from telegram import error as tg

from adapters.telegram.errors import retry_after_seconds

log = logging.getLogger(__name__)

OFFSET_FILE = "telegram-offset"
# Telegram may number updates afresh after a week without any: an older
# stored offset could hide new updates, so it is not trusted.
OFFSET_MAX_AGE_S = 6 * 24 * 3600
MAX_BACKOFF_S = 30.0
STOP_PATIENCE_S = 10.0

Handle = Callable[[Update], Awaitable[None]]


class Poller:
    def __init__(
        self,
        bot: Bot,
        handle: Handle,
        *,
        timeout: float,
        allowed_updates: Sequence[str],
        state_dir: Path | None = None,
    ) -> None:
        self._bot = bot
        self._handle = handle
        self._timeout = max(0, int(timeout))
        self._allowed = list(allowed_updates)
        self._state = state_dir / OFFSET_FILE if state_dir is not None else None
        self._offset: int | None = None
        self._fetching = False
        self._stopping = False
        # False while getUpdates fails: what the service's /healthz reports.
        self.healthy = True
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        # Polling and a webhook exclude each other; pending updates are kept.
        await self._bot.delete_webhook(drop_pending_updates=False)
        self._offset = self._stored_offset()
        self._task = asyncio.create_task(self._run(), name="telegram-polling")

    async def stop(self) -> None:
        """Finish the update being handled, then confirm what was handled."""
        self._stopping = True
        task = self._task
        if task is None:
            return
        deadline = time.monotonic() + STOP_PATIENCE_S
        while not task.done():
            # A long poll is cut short; an update being handled is finished.
            if self._fetching or time.monotonic() > deadline:
                task.cancel()
            await asyncio.wait({task}, timeout=0.05)
        with contextlib.suppress(asyncio.CancelledError):
            await task
        self._task = None
        if self._offset is not None:
            try:
                await self._bot.get_updates(
                    offset=self._offset, limit=1, timeout=0, allowed_updates=self._allowed
                )
            except tg.TelegramError as exc:
                # Not confirmed: those updates come again at the next start
                # (skipped there when the state directory remembers them).
                log.warning("last offset not confirmed: %s", type(exc).__name__)

    async def _run(self) -> None:
        failures = 0
        while not self._stopping:
            try:
                self._fetching = True
                try:
                    updates = await self._bot.get_updates(
                        offset=self._offset,
                        timeout=self._timeout,
                        allowed_updates=self._allowed,
                    )
                finally:
                    self._fetching = False
            except tg.InvalidToken:
                log.error("Telegram refused the bot token: polling stopped")
                self.healthy = False
                return
            except tg.RetryAfter as exc:
                await asyncio.sleep(retry_after_seconds(exc))
                continue
            except tg.TelegramError as exc:
                self.healthy = False
                failures += 1
                wait = min(MAX_BACKOFF_S, 0.5 * 2 ** min(failures, 6))
                log.warning("getUpdates failed (%s); again in %.0f s", type(exc).__name__, wait)
                await asyncio.sleep(wait)
                continue
            failures = 0
            self.healthy = True
            for update in updates:
                if self._offset is not None and update.update_id < self._offset:
                    continue  # handled before a restart, not confirmed then
                try:
                    # Returns once the core has it, or gave up after its
                    # retries and told the sender; a stop meanwhile cancels
                    # it here and the update stays unconfirmed.
                    await self._handle(update)
                except Exception:
                    log.exception("update handling failed")
                self._offset = update.update_id + 1
                self._remember(self._offset)

    def _stored_offset(self) -> int | None:
        if self._state is None:
            return None
        try:
            if time.time() - self._state.stat().st_mtime > OFFSET_MAX_AGE_S:
                return None
            return int(self._state.read_text(encoding="ascii").strip())
        except (OSError, ValueError):
            return None

    def _remember(self, offset: int) -> None:
        if self._state is None:
            return
        try:
            self._state.parent.mkdir(parents=True, exist_ok=True)
            tmp = self._state.with_suffix(".tmp")
            tmp.write_text(str(offset), encoding="ascii")
            os.replace(tmp, self._state)
        except OSError as exc:
            log.warning("could not store the Telegram offset: %s", type(exc).__name__)
