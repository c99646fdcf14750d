"""Small asyncio helpers shared by the long-running loops."""

from __future__ import annotations

import asyncio
import contextlib


async def wait_first(*events: asyncio.Event) -> None:
    """Return as soon as one of the events is set."""
    waiters = [asyncio.create_task(e.wait()) for e in events]
    try:
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for w in waiters:
            w.cancel()


async def nap(seconds: float, *events: asyncio.Event) -> None:
    """Sleep up to ``seconds``, less if one of the events is set."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(wait_first(*events), seconds)
