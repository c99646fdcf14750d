"""Who runs what when several service processes share one database.

Each platform account (a Telegram bot, a Matrix user, the e-mail sender) is
run by one process at a time: the one holding its lock in the database.
The others try again every few seconds, so that when the holder dies (or
loses the database) another one takes the account over. Work that belongs
to no account but must happen once (digest planning, retention, the end of
the school year) is one more lock, DUTIES.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Awaitable, Callable

from bot.aio import nap, wait_first
from bot.config import Settings
from storage.db import Database, ExclusiveLock

log = logging.getLogger("petites_voix.leadership")

DUTIES = "duties"
RETRY_S = 3.0
# How often the holder says it still holds (the operator's status).
HEARTBEAT_S = 10.0

# Runs while the lock is held; must return soon after ``ending`` is set.
Tenure = Callable[[ExclusiveLock, asyncio.Event], Awaitable[None]]


def this_process() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def account_name(settings: Settings, platform: str) -> str:
    """The lock's name for a platform's account: the bot or user it logs in
    as, so that two services with different bots never share a lock. No
    token, no address: the name is shown to the operator."""
    if platform == "telegram" and settings.telegram is not None:
        return f"telegram:{settings.telegram.token.split(':', 1)[0]}"
    if platform == "matrix" and settings.matrix is not None:
        return f"matrix:{settings.matrix.user_id}"
    return platform


async def try_lock(db: Database, name: str) -> ExclusiveLock | None:
    """The lock, or None when another process holds it or the database is
    out of reach (the caller tries again later either way)."""
    try:
        return await db.try_exclusive(name)
    except Exception as exc:
        log.warning("cannot ask the database for %s (%s)", name, type(exc).__name__)
        return None


async def hold(
    db: Database,
    name: str,
    stopping: asyncio.Event,
    tenure: Tenure,
    first: ExclusiveLock | None = None,
    retry_s: float = RETRY_S,
    waiting: Callable[[bool], None] = lambda _: None,
) -> None:
    """Run ``tenure`` each time this process holds ``name``, until stopping.
    ``first`` is a lock already taken by the caller; ``waiting`` is told
    whether another process holds it."""
    said_waiting = False
    lock = first
    while not stopping.is_set():
        if lock is None:
            lock = await try_lock(db, name)
        if lock is None:
            if not said_waiting:
                log.info("%s is run by another process; trying every %g s", name, retry_s)
                said_waiting = True
                waiting(True)
            await nap(retry_s, stopping)
            continue
        said_waiting = False
        waiting(False)
        log.info("this process now runs %s", name)
        ending = asyncio.Event()
        relay = asyncio.create_task(_end_on(ending, lock.lost, stopping))
        try:
            await tenure(lock, ending)
        except Exception:
            log.exception("running %s failed; letting it go", name)
        finally:
            relay.cancel()
            lost = lock.lost.is_set()
            await lock.release()
            lock = None
        if not stopping.is_set():
            waiting(True)  # until taken again, another process may run it
        if lost and not stopping.is_set():
            log.warning("%s lost (database out of reach): stopped, trying to take it again", name)
        if not stopping.is_set():
            # Stepping back a little: a process that has been waiting (and
            # whose database answers) takes it first.
            await nap(2 * retry_s, stopping)


async def _end_on(ending: asyncio.Event, *events: asyncio.Event) -> None:
    await wait_first(*events)
    ending.set()
