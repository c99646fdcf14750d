"""The bot presents itself in French at start: Telegram's description (what
a parent reads before pressing Start) and Matrix's display name."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace

import pytest
from nio import ProfileGetDisplayNameResponse

from bot.profile import bot_profile
from tests.matrix_harness.fixtures import AdapterFactory, ClientFactory
from tests.telegram_api import FakeTelegram, running_fake_api
from tests.telegram_api.harness import connected


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    async with running_fake_api() as api:
        yield api


async def test_telegram_description_is_set_at_start(fake: FakeTelegram) -> None:
    profile = bot_profile()
    async with connected(fake, profile=profile):
        pass
    assert fake.descriptions[("description", "")] == profile.description
    assert fake.descriptions[("short_description", "")] == profile.short_description
    assert "Démarrer" in profile.description and len(profile.short_description) <= 120


async def test_telegram_refusing_the_description_does_not_stop_the_start(
    fake: FakeTelegram,
) -> None:
    # The short description is over Telegram's limit, as a careless edit could make it.
    profile = replace(bot_profile(), short_description="x" * 121)
    async with connected(fake, profile=profile) as (adapter, _):
        assert adapter.connected
    assert fake.descriptions[("short_description", "")] == "x" * 120  # cut, then accepted


@pytest.mark.synapse
async def test_matrix_display_name_is_set_at_start(
    make_adapter: AdapterFactory, make_client: ClientFactory
) -> None:
    adapter, sink = make_adapter(profile=bot_profile())
    await adapter.connect(sink)
    someone = await make_client("parent")
    answer = await someone.client.get_displayname(adapter.user_id)
    assert isinstance(answer, ProfileGetDisplayNameResponse)
    assert answer.displayname == "Petites Voix"
