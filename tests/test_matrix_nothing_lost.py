"""On a real Synapse: an event is marked handled only once the core took it
(or gave up and its sender was told); a stop while the core keeps failing
loses nothing; an event the bot still cannot decrypt after its wait gets an
answer asking to post it again."""

from __future__ import annotations

import asyncio
import sqlite3
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
from nio import Api, RoomSendResponse

from adapters.matrix import MatrixAdapter
from adapters.matrix import adapter as matrix_adapter
from adapters.matrix.devkit.client import ScriptedClient
from adapters.matrix.devkit.synapse import RegisteredUser, SynapseServer
from bot.ports import InboundEvent, InboundRetry, NotHandled, TextMessage, Unreadable
from tests.matrix_harness.fixtures import ClientFactory
from tests.matrix_harness.sink import RecordingSink

pytestmark = pytest.mark.synapse

QUICK = InboundRetry(3, 0.1, 0.2)


@dataclass
class FailingSink(RecordingSink):
    """Raises "database is locked" on the first ``fail_times`` text messages
    it is handed (every one when None), as a core with a busy database."""

    fail_times: int | None = None
    failures: int = 0

    async def __call__(self, event: InboundEvent) -> None:
        if isinstance(event, TextMessage) and (
            self.fail_times is None or self.failures < self.fail_times
        ):
            self.failures += 1
            raise sqlite3.OperationalError("database is locked")
        await super().__call__(event)


def bot(
    synapse: SynapseServer,
    user: RegisteredUser,
    store: Path,
    *,
    inbound_retry: InboundRetry = QUICK,
    undecryptable_wait_s: float = 300.0,
) -> MatrixAdapter:
    return MatrixAdapter(
        synapse.url,
        user.user_id,
        store_dir=store,
        password=user.password,
        inbound_retry=inbound_retry,
        undecryptable_wait_s=undecryptable_wait_s,
    )


async def dm_with(adapter: MatrixAdapter, client: ScriptedClient) -> str:
    room_id = await client.create_dm(adapter.user_id, encrypted=True)
    await client.wait_joined(room_id, adapter.user_id)
    return room_id


async def test_a_message_is_handed_again_until_the_core_takes_it(
    synapse: SynapseServer, bot_user: RegisteredUser, make_client: ClientFactory, tmp_path: Path
) -> None:
    sink = FailingSink(fail_times=2)
    adapter = bot(synapse, bot_user, tmp_path / "store", inbound_retry=QUICK)
    sink.adapter = adapter
    await adapter.connect(sink)
    try:
        parent = await make_client("parent")
        room_id = await dm_with(adapter, parent)
        sent = await parent.send_text(room_id, "!pause")
        got = await sink.wait_for(lambda e: isinstance(e, TextMessage))
        assert isinstance(got, TextMessage) and got.message_id == sent
        assert sink.failures == 2
        assert sink.matching(lambda e: isinstance(e, NotHandled)) == []
    finally:
        await adapter.disconnect()


async def test_a_message_the_core_keeps_failing_on_is_answered_then_confirmed(
    synapse: SynapseServer, bot_user: RegisteredUser, make_client: ClientFactory, tmp_path: Path
) -> None:
    sink = FailingSink()
    adapter = bot(synapse, bot_user, tmp_path / "store", inbound_retry=QUICK)
    sink.adapter = adapter
    await adapter.connect(sink)
    parent = await make_client("parent")
    try:
        room_id = await dm_with(adapter, parent)
        sent = await parent.send_text(room_id, "!frequence quotidien")
        given_up = await sink.wait_for(lambda e: isinstance(e, NotHandled))
        assert isinstance(given_up, NotHandled) and given_up.event.message_id == sent
        assert sink.failures == QUICK.attempts
    finally:
        await adapter.disconnect()
    # Confirmed: a restart does not hand it again.
    again = RecordingSink()
    adapter = bot(synapse, bot_user, tmp_path / "store", inbound_retry=QUICK)
    again.adapter = adapter
    await adapter.connect(again)
    try:
        await parent.send_text(room_id, "!aide")
        await again.wait_for(lambda e: isinstance(e, TextMessage) and e.text == "!aide")
        first = next(e for e in again.events if isinstance(e, TextMessage))
        assert first.text == "!aide"
    finally:
        await adapter.disconnect()


async def test_a_stop_while_the_core_keeps_failing_loses_nothing(
    synapse: SynapseServer,
    bot_user: RegisteredUser,
    make_client: ClientFactory,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(matrix_adapter, "STOP_PATIENCE_S", 0.5)
    sink = FailingSink()
    adapter = bot(synapse, bot_user, tmp_path / "store", inbound_retry=InboundRetry(1000, 0.1, 0.1))
    sink.adapter = adapter
    await adapter.connect(sink)
    parent = await make_client("parent")
    try:
        room_id = await dm_with(adapter, parent)
        sent = await parent.send_text(room_id, "!pause")
        deadline = asyncio.get_running_loop().time() + 20
        while sink.failures < 2:
            assert asyncio.get_running_loop().time() < deadline
            await asyncio.sleep(0.05)
    finally:
        await adapter.disconnect()
    assert sink.matching(lambda e: isinstance(e, NotHandled)) == []

    working = RecordingSink()
    adapter = bot(synapse, bot_user, tmp_path / "store", inbound_retry=QUICK)
    working.adapter = adapter
    await adapter.connect(working)
    try:
        got = await working.wait_for(lambda e: isinstance(e, TextMessage))
        assert isinstance(got, TextMessage) and got.message_id == sent
    finally:
        await adapter.disconnect()


async def send_undecryptable(client: ScriptedClient, room_id: str) -> str:
    """An encrypted event whose room key nobody will ever share."""
    nio = client.client
    content = {
        "algorithm": "m.megolm.v1.aes-sha2",
        "ciphertext": "AwgAEnACgAkLmt6qF84IK++J7UDH2Za1YVchHyprqTqsg2yyOwAtHaZTwyNg37af",
        "device_id": client.device_id,
        "sender_key": nio.olm.account.identity_keys["curve25519"],
        "session_id": "UNKNOWNSESSIONUNKNOWNSESSIONUNKNOWNSESSION0",
    }
    method, path, data = Api.room_send(
        nio.access_token, room_id, "m.room.encrypted", content, uuid.uuid4()
    )
    resp = await nio._send(RoomSendResponse, method, path, data, (room_id,))
    assert isinstance(resp, RoomSendResponse), resp
    return str(resp.event_id)


async def test_an_event_still_undecryptable_after_its_wait_is_answered(
    synapse: SynapseServer, bot_user: RegisteredUser, make_client: ClientFactory, tmp_path: Path
) -> None:
    sink = RecordingSink()
    adapter = bot(synapse, bot_user, tmp_path / "store", undecryptable_wait_s=1.0)
    sink.adapter = adapter
    await adapter.connect(sink)
    try:
        parent = await make_client("parent")
        room_id = await dm_with(adapter, parent)
        lost = await send_undecryptable(parent, room_id)
        await asyncio.sleep(1.5)
        # Anything that ends the bot's long poll: the wait is checked after each sync.
        await parent.send_text(room_id, "bonjour")
        unreadable = await sink.wait_for(lambda e: isinstance(e, Unreadable))
        assert isinstance(unreadable, Unreadable)
        assert unreadable.message_id == lost
        assert unreadable.chat.chat_id == room_id and unreadable.chat.is_direct
        assert unreadable.sender.user_id == parent.user_id
        assert len(sink.matching(lambda e: isinstance(e, Unreadable))) == 1
    finally:
        await adapter.disconnect()
