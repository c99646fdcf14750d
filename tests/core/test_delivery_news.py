"""Deliveries made due in one process wake the workers of the others at
once (PostgreSQL's NOTIFY), never echoed back; one process alone (SQLite)
tells nobody."""

from __future__ import annotations

import asyncio
from pathlib import Path

from bot.app import open_context
from bot.config import Settings
from bot.service.delivery_news import DeliveryNews
from tests.postgres_server import PostgresServer

WAIT_S = 10.0  # no worker looks in this test: only the news can set the events


async def test_news_of_deliveries_wake_the_other_process_only_once(
    postgres: PostgresServer, tmp_path: Path
) -> None:
    url = postgres.fresh_database()
    here = await open_context(Settings(data_dir=tmp_path / "a", database=url), {})
    there = await open_context(Settings(data_dir=tmp_path / "b", database=url), {})
    listening = [DeliveryNews(here).start(), DeliveryNews(there).start()]
    try:
        woken = there.wake.delivery.setdefault("telegram", asyncio.Event())
        mine = here.wake.delivery.setdefault("telegram", asyncio.Event())
        told = 0
        original = there.wake.tell_others

        def counting() -> None:
            nonlocal told
            told += 1
            assert original is not None
            original()

        there.wake.tell_others = counting
        await asyncio.sleep(0.5)  # both listening (each wakes itself once on starting)
        woken.clear()
        mine.clear()

        here.wake.deliveries()
        await asyncio.wait_for(woken.wait(), WAIT_S)
        assert mine.is_set()  # this process's own workers, at once
        await asyncio.sleep(0.5)
        assert told == 0  # the other process heard it without telling anyone back
    finally:
        for task in listening:
            assert task is not None
            task.cancel()
        await asyncio.gather(*[t for t in listening if t], return_exceptions=True)
        await here.close()
        await there.close()


async def test_one_process_alone_tells_nobody(tmp_path: Path) -> None:
    ctx = await open_context(Settings(data_dir=tmp_path), {})
    try:
        assert DeliveryNews(ctx).start() is None
        assert ctx.wake.tell_others is None
    finally:
        await ctx.close()
