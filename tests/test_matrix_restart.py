"""Restarts: one device for life, nothing lost, nothing handled twice."""

from __future__ import annotations

from pathlib import Path

import pytest
from nio import AsyncClient, JoinResponse

from adapters.matrix import MatrixAdapter
from adapters.matrix.devkit.audio import make_tone
from adapters.matrix.devkit.synapse import RegisteredUser, SynapseServer
from adapters.matrix.state import SyncState
from bot.ports import ChatInvite, MediaMessage, TextMessage
from tests.matrix_harness.fixtures import AdapterFactory, ClientFactory
from tests.matrix_harness.sink import RecordingSink

pytestmark = pytest.mark.synapse


async def test_login_once_then_the_same_device_across_restarts(
    synapse: SynapseServer, bot_user: RegisteredUser, make_adapter: AdapterFactory
) -> None:
    first, sink = make_adapter()
    await first.connect(sink)
    device = first.device_id
    assert device and device != bot_user.device_id  # a password login: its own device
    await first.disconnect()
    devices = set(synapse.user_devices(bot_user.user_id))

    second, sink2 = make_adapter()
    await second.connect(sink2)
    assert second.device_id == device
    await second.disconnect()
    assert set(synapse.user_devices(bot_user.user_id)) == devices


async def test_access_token_login_uses_that_tokens_device(
    synapse: SynapseServer, bot_user: RegisteredUser, tmp_path: Path
) -> None:
    adapter = MatrixAdapter(
        synapse.url,
        bot_user.user_id,
        store_dir=tmp_path / "token-store",
        access_token=bot_user.access_token,
    )
    await adapter.connect(RecordingSink())
    try:
        assert adapter.device_id == bot_user.device_id
    finally:
        await adapter.disconnect()


async def test_first_start_does_not_replay_history(
    synapse: SynapseServer,
    bot_user: RegisteredUser,
    make_adapter: AdapterFactory,
    make_client: ClientFactory,
) -> None:
    parent = await make_client("parent")
    room_id = await parent.create_dm(bot_user.user_id, encrypted=False)
    # The account joined and the room got history before the service ever ran.
    raw = AsyncClient(synapse.url, bot_user.user_id)
    raw.access_token = bot_user.access_token
    assert isinstance(await raw.join(room_id), JoinResponse)
    await raw.close()
    await parent.wait_joined(room_id, bot_user.user_id)
    await parent.send_text(room_id, "!start ANCIEN-CODE-DEJA-TRAITE-0001")

    adapter, sink = make_adapter()
    await adapter.connect(sink)
    await parent.send_text(room_id, "!aide")
    await sink.wait_for(lambda e: isinstance(e, TextMessage) and e.text == "!aide")
    assert [e.text for e in sink.events if isinstance(e, TextMessage)] == ["!aide"]


async def test_restart_loses_no_recording_and_replays_no_command(
    make_adapter: AdapterFactory, make_client: ClientFactory, tmp_path: Path
) -> None:
    adapter, sink = make_adapter()
    await adapter.connect(sink)
    device = adapter.device_id
    parent = await make_client("parent")
    room_id = await parent.create_dm(adapter.user_id, encrypted=True)
    await sink.wait_for(lambda e: isinstance(e, ChatInvite))
    await parent.wait_joined(room_id, adapter.user_id)
    store = tmp_path / "bot-store" / "sync.sqlite"
    state = await SyncState.open(store)
    token_before_command = await state.token()
    await state.close()
    assert token_before_command

    command_id = await parent.send_text(room_id, "!pause")
    await sink.wait_for(lambda e: isinstance(e, TextMessage) and e.message_id == command_id)
    # Crash right after the command was handled, before its sync token was
    # saved: the next start syncs again from the older token.
    await adapter.disconnect()
    state = await SyncState.open(store)
    await state.save_token(token_before_command)
    await state.close()

    # While the bot is down, a recording arrives.
    voice = make_tone(tmp_path / "pendant-la-panne.ogg")
    recording_id = await parent.send_audio(room_id, voice, mime="audio/ogg", voice=True)

    again, sink2 = make_adapter()
    await again.connect(sink2)
    assert again.device_id == device
    got = await sink2.wait_for(lambda e: isinstance(e, MediaMessage))
    assert isinstance(got, MediaMessage) and got.message_id == recording_id
    assert await again.download(got.attachment.ref) == voice.read_bytes()
    marker = await parent.send_text(room_id, "!albums")
    await sink2.wait_for(lambda e: isinstance(e, TextMessage) and e.message_id == marker)

    handed = [getattr(e, "message_id", None) for e in sink2.events]
    assert handed.count(recording_id) == 1
    assert command_id not in handed
