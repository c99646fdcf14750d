"""Marking sends accepted by the platform, written together.

Each send still waits until its own mark is committed (a stop never loses
an accepted send's mark once its task went on); while one write is under
way, the marks arriving meanwhile wait and go in the next one: one round
trip for several e-mails when they finish close together. A write also
waits ``gather_s`` (a few milliseconds) for the marks of the sends
finishing just after: the e-mails waiting for their mark are still in
flight, so a crash meanwhile resends only those.
"""

from __future__ import annotations

import asyncio
from datetime import datetime

from storage.repos.deliveries import DeliveryRepo

# Marks gathered for one write: at most this many, waiting at most this long.
MOST = 64
GATHER_S = 0.004


class SentMarks:
    def __init__(self, deliveries: DeliveryRepo, gather_s: float = GATHER_S) -> None:
        self.deliveries = deliveries
        self.gather_s = gather_s
        self._waiting: list[tuple[int, str, datetime, asyncio.Future[bool]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def mark(self, delivery_id: int, message_id: str, now: datetime) -> bool:
        """pending -> sent, as ``DeliveriesRepo.mark_sent`` (False: it left
        'pending' meanwhile)."""
        done: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._waiting.append((delivery_id, message_id, now, done))
        if self._writer is None:
            self._writer = asyncio.create_task(self._write())
        # A send given up (stop) still gets its mark written.
        return await asyncio.shield(done)

    async def _write(self) -> None:
        try:
            while self._waiting:
                if len(self._waiting) < MOST and self.gather_s > 0:
                    await asyncio.sleep(self.gather_s)
                batch, self._waiting = self._waiting[:MOST], self._waiting[MOST:]
                try:
                    changed = await self.deliveries.mark_sent_many(
                        [(d, m) for d, m, _, _ in batch], max(n for _, _, n, _ in batch)
                    )
                except asyncio.CancelledError:
                    for *_, done in batch:
                        done.cancel()
                    raise
                except Exception as exc:
                    for *_, done in batch:
                        if not done.done():
                            done.set_exception(exc)
                    continue
                for d, _, _, done in batch:
                    if not done.done():
                        done.set_result(d in changed)
        except BaseException:
            # Stopped while gathering: the marks not written are not lost
            # silently, their senders see the cancellation.
            for *_, done in self._waiting:
                done.cancel()
            self._waiting = []
            raise
        finally:
            self._writer = None
