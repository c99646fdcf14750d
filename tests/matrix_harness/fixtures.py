"""Fixtures: one Synapse for the session, fresh users for every test."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import pytest

from adapters.matrix import MatrixAdapter
from adapters.matrix.devkit.client import ScriptedClient
from adapters.matrix.devkit.synapse import RegisteredUser, SynapseServer
from bot.ports import BotProfile
from tests.matrix_harness.sink import RecordingSink

ClientFactory = Callable[[str], Awaitable[ScriptedClient]]
AdapterFactory = Callable[..., tuple[MatrixAdapter, RecordingSink]]


def unique(name: str) -> str:
    return f"{name}-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="session")
def synapse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SynapseServer]:
    # A start-up failure raises with Synapse's log: the tests fail, never skip.
    server = SynapseServer.start(tmp_path_factory.mktemp("synapse"))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def bot_user(synapse: SynapseServer) -> RegisteredUser:
    """A bot account whose message rate limit the operator lifted."""
    user = synapse.register(unique("voix"))
    synapse.lift_rate_limit(user.user_id)
    return user


@pytest.fixture
async def make_client(synapse: SynapseServer, tmp_path: Path) -> AsyncIterator[ClientFactory]:
    clients: list[ScriptedClient] = []

    async def make(name: str) -> ScriptedClient:
        client = await ScriptedClient.create(synapse, unique(name), tmp_path / "clients")
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.close()


@pytest.fixture
async def make_adapter(
    synapse: SynapseServer, bot_user: RegisteredUser, tmp_path: Path
) -> AsyncIterator[AdapterFactory]:
    adapters: list[MatrixAdapter] = []

    def make(
        *,
        store: str = "bot-store",
        join_rooms: bool = False,
        user: RegisteredUser | None = None,
        profile: BotProfile | None = None,
    ) -> tuple[MatrixAdapter, RecordingSink]:
        account = user or bot_user
        adapter = MatrixAdapter(
            synapse.url,
            account.user_id,
            store_dir=tmp_path / store,
            password=account.password,
            profile=profile,
        )
        adapters.append(adapter)
        return adapter, RecordingSink(join_rooms=join_rooms, adapter=adapter)

    yield make
    for adapter in adapters:
        await adapter.disconnect()
