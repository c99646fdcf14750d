"""What parents and teachers post reaches the core, decrypted."""

from __future__ import annotations

from pathlib import Path

import pytest

from adapters.matrix.devkit.audio import make_tone
from bot.ports import ChatInvite, MediaMessage, TextMessage
from tests.matrix_harness.fixtures import AdapterFactory, ClientFactory

pytestmark = pytest.mark.synapse


async def test_parent_text_in_encrypted_dm_reaches_the_sink(
    make_adapter: AdapterFactory, make_client: ClientFactory
) -> None:
    adapter, sink = make_adapter()
    sink.welcome = "Bonjour ! Collez ici le code reçu de l'école."
    await adapter.connect(sink)
    parent = await make_client("parent")
    room_id = await parent.create_dm(adapter.user_id, encrypted=True)

    invite = await sink.wait_for(lambda e: isinstance(e, ChatInvite))
    assert isinstance(invite, ChatInvite)
    assert invite.chat.chat_id == room_id and invite.chat.is_direct
    assert invite.inviter.user_id == parent.user_id

    await parent.wait_joined(room_id, adapter.user_id)
    sent = await parent.send_text(room_id, "!frequence quotidien")
    got = await sink.wait_for(lambda e: isinstance(e, TextMessage))
    assert isinstance(got, TextMessage)
    assert got.text == "!frequence quotidien"
    assert got.message_id == sent
    assert got.chat.chat_id == room_id and got.chat.is_direct
    assert got.sender.user_id == parent.user_id
    # The welcome sent from inside the sink, right after joining, arrived.
    welcome = await parent.wait_for(lambda r: r.sender == adapter.user_id)
    assert welcome.encrypted and welcome.body == sink.welcome


async def test_recording_in_encrypted_class_room_reaches_the_sink_and_downloads(
    make_adapter: AdapterFactory, make_client: ClientFactory, tmp_path: Path
) -> None:
    adapter, sink = make_adapter(join_rooms=True)
    await adapter.connect(sink)
    teacher = await make_client("maitresse")
    room_id = await teacher.create_room(
        [adapter.user_id], encrypted=True, direct=False, name="Classe des Loups"
    )
    invite = await sink.wait_for(lambda e: isinstance(e, ChatInvite))
    assert isinstance(invite, ChatInvite) and not invite.chat.is_direct
    await teacher.wait_joined(room_id, adapter.user_id)

    voice = make_tone(tmp_path / "Enregistrement.ogg")
    voice_id = await teacher.send_audio(
        room_id, voice, mime="audio/ogg", voice=True, duration_ms=1500
    )
    mp3 = make_tone(tmp_path / "loup_groupe2.mp3", freq=330)
    file_id = await teacher.send_audio(
        room_id, mp3, mime="audio/mpeg", caption="Le loup, groupe 2", msgtype="m.file"
    )
    await teacher.send_text(room_id, "!annuler", reply_to=voice_id)

    got_voice = await sink.wait_for(
        lambda e: isinstance(e, MediaMessage) and e.message_id == voice_id
    )
    assert isinstance(got_voice, MediaMessage)
    assert got_voice.attachment.kind == "voice"
    assert got_voice.attachment.mime == "audio/ogg"
    assert got_voice.attachment.duration_s == 1.5
    assert got_voice.caption == ""
    assert not got_voice.chat.is_direct and got_voice.chat.title == "Classe des Loups"
    assert await adapter.download(got_voice.attachment.ref) == voice.read_bytes()

    got_file = await sink.wait_for(
        lambda e: isinstance(e, MediaMessage) and e.message_id == file_id
    )
    assert isinstance(got_file, MediaMessage)
    assert got_file.attachment.kind == "document"
    assert got_file.attachment.filename == "loup_groupe2.mp3"
    assert got_file.caption == "Le loup, groupe 2"
    assert await adapter.download(got_file.attachment.ref) == mp3.read_bytes()

    reply = await sink.wait_for(lambda e: isinstance(e, TextMessage))
    assert isinstance(reply, TextMessage)
    assert reply.text == "!annuler" and reply.reply_to == voice_id

    # The reference is stored by the core: it still works from a new process.
    await adapter.disconnect()
    again, sink2 = make_adapter()
    await again.connect(sink2)
    assert await again.download(got_voice.attachment.ref) == voice.read_bytes()


async def test_strangers_room_invite_reaches_the_sink_and_is_declined(
    make_adapter: AdapterFactory, make_client: ClientFactory
) -> None:
    adapter, sink = make_adapter()
    await adapter.connect(sink)
    stranger = await make_client("inconnu")
    room_id = await stranger.create_room(
        [adapter.user_id], encrypted=False, direct=False, name="Pub"
    )
    invite = await sink.wait_for(lambda e: isinstance(e, ChatInvite))
    assert isinstance(invite, ChatInvite)
    assert invite.chat == invite.chat.__class__(room_id, is_direct=False, title="Pub")
    assert invite.inviter.user_id == stranger.user_id
    # The test sink declined: the bot's membership is "leave".
    for _ in range(40):
        await stranger.sync(timeout_ms=250)
        room = stranger.client.rooms[room_id]
        if adapter.user_id not in room.invited_users:
            break
    assert adapter.user_id not in room.users
