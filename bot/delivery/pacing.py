"""Outbound pacing from a platform's capabilities: a global rate, a minimum
interval per chat, and pauses after a 429 that concern only what they name."""

from __future__ import annotations

import asyncio
import time as _time
from collections.abc import Callable

from bot.ports import Capabilities


class Pacer:
    def __init__(
        self, caps: Capabilities, monotonic: Callable[[], float] = _time.monotonic
    ) -> None:
        self._interval = 1.0 / caps.global_rate_per_s
        self._per_chat = caps.per_chat_interval_s
        self._now = monotonic
        self._next_global = 0.0
        self._paused_until = 0.0
        self._chat_ready: dict[str, float] = {}

    def chat_ready_in(self, chat_id: str) -> float:
        return max(0.0, self._chat_ready.get(chat_id, 0.0) - self._now())

    def global_ready_in(self) -> float:
        return max(0.0, max(self._next_global, self._paused_until) - self._now())

    def take(self, chat_id: str) -> None:
        """Book one message to ``chat_id`` now (call when both are ready)."""
        now = self._now()
        self._next_global = max(now, self._next_global) + self._interval
        self._chat_ready[chat_id] = now + self._per_chat
        if len(self._chat_ready) > 50_000:  # forget chats long past their interval
            self._chat_ready = {c: t for c, t in self._chat_ready.items() if t > now}

    def reserve(self, chat_id: str) -> float:
        """Book the next free global slot (and the chat's) at once; returns how
        long to sleep before sending. Booking first, then sleeping, keeps
        senders that wake together from sending together."""
        now = self._now()
        at = max(now, self._next_global, self._paused_until, self._chat_ready.get(chat_id, 0.0))
        self._next_global = at + self._interval
        self._chat_ready[chat_id] = at + self._per_chat
        return at - now

    async def wait_turn(self, chat_id: str) -> None:
        """Wait for the chat to be ready, and only then book a global slot:
        booking a later slot at once (:meth:`reserve`) would push every other
        chat's send behind this chat's wait, leaving the bot idle meanwhile
        (a digest's second message waits a second for its chat)."""
        for _ in range(8):  # a 429 on this chat may push it on meanwhile
            chat_wait = self.chat_ready_in(chat_id)
            if chat_wait <= 0:
                break
            await asyncio.sleep(chat_wait)
        await asyncio.sleep(self.reserve(chat_id))

    def pause_chat(self, chat_id: str, seconds: float) -> None:
        until = self._now() + seconds
        self._chat_ready[chat_id] = max(self._chat_ready.get(chat_id, 0.0), until)

    def pause_all(self, seconds: float) -> None:
        self._paused_until = max(self._paused_until, self._now() + seconds)
