"""A busy database while a teacher's voice note is filed, through the real
Telegram adapter and the local Bot API server: the update is confirmed to
Telegram (offset) only once the recording is filed or the teacher told, and
a stop in between loses nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from adapters.memory import plain
from adapters.telegram import TelegramAdapter, polling
from bot.app import Service
from bot.config import settings_from_mapping
from bot.ports import InboundRetry
from bot.service import texts
from tests.core.faults import Fault, inject_async, locked
from tests.telegram_api import FakeTelegram, Limits, running_fake_api
from tests.test_telegram_service import (
    GROUP,
    TEACHER,
    teacher_with_channel,
    texts_to,
    tone_wav,
    until,
)

GROUP_ID = int(GROUP["id"])

pytestmark = pytest.mark.filterwarnings("ignore:.*retry_after.*:DeprecationWarning")


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    async with running_fake_api(FakeTelegram(limits=Limits(per_private_burst=3))) as api:
        yield api


async def start(fake: FakeTelegram, data: Path, retry: InboundRetry) -> Service:
    settings = settings_from_mapping(
        {
            "storage": {"data_dir": str(data)},
            "telegram": {"token": fake.token, "api_url": fake.url},
            "schedule": {"quiet_hours": ""},
        },
        {},
        data,
    )
    adapter = TelegramAdapter(
        fake.token,
        fake.url,
        poll_timeout=1.0,
        state_dir=data / "telegram",
        inbound_retry=retry,
    )
    service = await Service.create(settings, {"telegram": adapter})
    await service.start()
    return service


def stored_offset(data: Path) -> int:
    path = data / "telegram" / polling.OFFSET_FILE
    return int(path.read_text(encoding="ascii")) if path.exists() else 0


def post_voice(fake: FakeTelegram, caption: str) -> int:
    update, _ = fake.push_media(
        GROUP, TEACHER, "voice", tone_wav(), mime="audio/ogg", caption=caption
    )
    return int(update["update_id"])


def pending_ids(fake: FakeTelegram) -> set[int]:
    return {int(u["update_id"]) for u in fake.pending_updates()}


async def test_locked_database_files_the_voice_note_later_and_only_then_confirms(
    fake: FakeTelegram, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = await start(fake, tmp_path, InboundRetry(4, 0.1, 0.5))
    try:
        await teacher_with_channel(fake, service)
        update_id = 0
        unconfirmed_at_failure: list[bool] = []

        def check() -> None:
            unconfirmed_at_failure.append(
                update_id in pending_ids(fake) and stored_offset(tmp_path) <= update_id
            )

        fault = inject_async(
            monkeypatch, service.ctx.repos.recordings, "create", Fault(locked, times=2, seen=check)
        )
        update_id = post_voice(fake, "Groupe 1")
        await until(lambda: any("Rangé dans l'album" in t for t in texts_to(fake, GROUP_ID)))
        assert fault.raised == 2 and unconfirmed_at_failure == [True, True]
        await until(lambda: update_id not in pending_ids(fake))
        assert stored_offset(tmp_path) == update_id + 1
        assert not any("Je n'ai pas pu" in t for t in texts_to(fake, GROUP_ID))
    finally:
        await service.stop()


async def test_locked_database_for_good_the_teacher_is_told_then_it_is_confirmed(
    fake: FakeTelegram, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = await start(fake, tmp_path, InboundRetry(3, 0.1, 0.5))
    try:
        await teacher_with_channel(fake, service)
        inject_async(monkeypatch, service.ctx.repos.recordings, "create", Fault(locked))
        update_id = post_voice(fake, "Groupe 2")
        await until(lambda: texts.media_not_recorded() in texts_to(fake, GROUP_ID))
        told = [
            m
            for m in fake.messages_to(GROUP_ID)
            if plain(str(m.params.get("text"))) == texts.media_not_recorded()
        ]
        assert len(told) == 1
        await until(lambda: update_id not in pending_ids(fake))
    finally:
        await service.stop()


async def test_a_stop_while_the_database_is_locked_loses_nothing(
    fake: FakeTelegram, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(polling, "STOP_PATIENCE_S", 0.5)
    service = await start(fake, tmp_path, InboundRetry(1000, 0.1, 0.1))
    try:
        await teacher_with_channel(fake, service)
        fault = inject_async(monkeypatch, service.ctx.repos.recordings, "create", Fault(locked))
        update_id = post_voice(fake, "Groupe 3")
        await until(lambda: fault.raised >= 2)
    finally:
        await service.stop()
    # Neither confirmed nor remembered as handled: Telegram still holds it.
    assert update_id in pending_ids(fake)
    assert stored_offset(tmp_path) <= update_id
    monkeypatch.undo()

    service = await start(fake, tmp_path, InboundRetry(3, 0.1, 0.5))
    try:
        await until(lambda: any("Rangé dans l'album" in t for t in texts_to(fake, GROUP_ID)))
        await until(lambda: update_id not in pending_ids(fake))
    finally:
        await service.stop()
