"""What the bot sends, as a parent's Element-like client sees it."""

from __future__ import annotations

from pathlib import Path

import pytest
from nio import RoomKickResponse

from adapters.matrix import MatrixAdapter
from adapters.matrix.devkit.audio import make_tone
from adapters.matrix.devkit.client import ScriptedClient
from bot.ports import (
    BotRemovedFromChat,
    Choice,
    OutboundAudio,
    OutboundDocument,
    OutboundMessage,
    RateLimited,
    RecipientGone,
    TextMessage,
)
from tests.matrix_harness.fixtures import AdapterFactory, ClientFactory
from tests.matrix_harness.sink import RecordingSink
from tests.media_files import media_file

pytestmark = pytest.mark.synapse


def voice_audio(tmp_path: Path, cached_ref: str | None = None) -> OutboundAudio:
    ogg = tmp_path / "voice.ogg"
    if not ogg.exists():
        make_tone(ogg, seconds=2.0)
    mp3 = tmp_path / "compat.mp3"
    if not mp3.exists():
        make_tone(mp3, seconds=2.0)
    return OutboundAudio(
        voice=media_file(ogg, "audio/ogg", "voice", cached_ref),
        compat=media_file(mp3, "audio/mpeg", "compat"),
        duration_s=2.0,
        title="Le loup, groupe 1",
        waveform=tuple(range(0, 1000, 10)),
    )


async def dm_with_bot(
    adapter: MatrixAdapter, sink: RecordingSink, parent: ScriptedClient, *, encrypted: bool
) -> str:
    room_id = await parent.create_dm(adapter.user_id, encrypted=encrypted)
    await parent.wait_joined(room_id, adapter.user_id)
    await sink.wait_for(lambda e: getattr(getattr(e, "chat", None), "chat_id", "") == room_id)
    return room_id


async def test_voice_to_encrypted_dm_is_a_voice_bubble_the_parent_can_play(
    make_adapter: AdapterFactory, make_client: ClientFactory, tmp_path: Path
) -> None:
    adapter, sink = make_adapter()
    await adapter.connect(sink)
    parent = await make_client("parent")
    room_id = await dm_with_bot(adapter, sink, parent, encrypted=True)

    audio = voice_audio(tmp_path)
    receipt = await adapter.send(
        OutboundMessage(room_id, text="Nouvel enregistrement : Le loup, groupe 1", audio=audio)
    )
    assert receipt.media_refs == {}  # encrypted per upload: nothing to reuse

    got = await parent.wait_for(lambda r: r.event_id == receipt.message_id)
    assert got.encrypted and got.msgtype == "m.audio"
    content = got.content
    assert "url" not in content and content["file"]["url"].startswith("mxc://")
    assert content["org.matrix.msc3245.voice"] == {}
    assert content["org.matrix.msc1767.audio"]["duration"] == 2000
    assert len(content["org.matrix.msc1767.audio"]["waveform"]) == 100
    assert content["info"] == {
        "mimetype": "audio/ogg",
        "size": audio.voice.size,
        "duration": 2000,
    }
    assert content["body"] == "Nouvel enregistrement : Le loup, groupe 1"
    assert content["filename"].endswith(".ogg")
    assert await parent.download(got) == await audio.voice.load()


async def test_text_choices_reply_and_document_in_encrypted_dm(
    make_adapter: AdapterFactory, make_client: ClientFactory, tmp_path: Path
) -> None:
    adapter, sink = make_adapter()
    await adapter.connect(sink)
    parent = await make_client("parent")
    room_id = await dm_with_bot(adapter, sink, parent, encrypted=True)
    asked = await parent.send_text(room_id, "!aide")
    await sink.wait_for(lambda e: isinstance(e, TextMessage))

    receipt = await adapter.send(
        OutboundMessage(
            room_id,
            text="À quel rythme voulez-vous recevoir les enregistrements ?",
            choices=(
                Choice("Tout de suite", "/frequence immediat"),
                Choice("Chaque jour", "/frequence quotidien"),
            ),
            reply_to=asked,
        )
    )
    got = await parent.wait_for(lambda r: r.event_id == receipt.message_id)
    assert got.msgtype == "m.text"
    assert "Répondez :" in got.body
    assert "!frequence immediat" in got.body and "!frequence quotidien" in got.body
    assert got.content["m.relates_to"] == {"m.in_reply_to": {"event_id": asked}}

    pdf = tmp_path / "invitations.pdf"
    pdf.write_bytes(b"%PDF-1.4\n% invitations\n")
    receipt = await adapter.send(
        OutboundMessage(
            room_id, document=OutboundDocument(pdf, "invitations.pdf", "application/pdf")
        )
    )
    doc = await parent.wait_for(lambda r: r.event_id == receipt.message_id)
    assert doc.msgtype == "m.file" and doc.content["filename"] == "invitations.pdf"
    assert await parent.download(doc) == pdf.read_bytes()

    assert await adapter.delete(room_id, receipt.message_id)
    redacted = await parent.wait_for(lambda r: r.type == "m.room.redaction")
    assert redacted.sender == adapter.user_id


async def test_unencrypted_rooms_reuse_one_upload(
    make_adapter: AdapterFactory, make_client: ClientFactory, tmp_path: Path
) -> None:
    adapter, sink = make_adapter()
    await adapter.connect(sink)
    lea = await make_client("lea")
    hugo = await make_client("hugo")
    room_lea = await dm_with_bot(adapter, sink, lea, encrypted=False)
    room_hugo = await dm_with_bot(adapter, sink, hugo, encrypted=False)

    first = await adapter.send(OutboundMessage(room_lea, audio=voice_audio(tmp_path)))
    mxc = first.media_refs["voice"]
    assert mxc.startswith("mxc://")
    second = await adapter.send(
        OutboundMessage(room_hugo, audio=voice_audio(tmp_path, cached_ref=mxc))
    )
    assert second.media_refs == {"voice": mxc}

    got = await hugo.wait_for(lambda r: r.event_id == second.message_id)
    assert got.content["url"] == mxc and "file" not in got.content
    assert await hugo.download(got) == (tmp_path / "voice.ogg").read_bytes()
    seen = await lea.wait_for(lambda r: r.event_id == first.message_id)
    assert seen.content["url"] == mxc


async def test_same_idempotency_key_twice_is_one_message(
    make_adapter: AdapterFactory, make_client: ClientFactory
) -> None:
    adapter, sink = make_adapter()
    await adapter.connect(sink)
    parent = await make_client("parent")
    room_id = await dm_with_bot(adapter, sink, parent, encrypted=True)

    message = OutboundMessage(room_id, text="Bienvenue !", idempotency_key="delivery-42-family-7")
    first = await adapter.send(message)
    second = await adapter.send(message)
    assert first.message_id == second.message_id
    await parent.send_text(room_id, "fin")  # a marker after both sends
    await parent.wait_for(lambda r: r.body == "fin")
    await parent.sync(timeout_ms=500)
    from_bot = [r for r in parent.received if r.sender == adapter.user_id]
    assert [r.body for r in from_bot] == ["Bienvenue !"]


async def test_kicked_bot_is_told_and_sending_there_is_recipient_gone(
    make_adapter: AdapterFactory, make_client: ClientFactory
) -> None:
    adapter, sink = make_adapter(join_rooms=True)
    await adapter.connect(sink)
    teacher = await make_client("maitresse")
    room_id = await teacher.create_room(
        [adapter.user_id], encrypted=False, direct=False, name="Classe"
    )
    await teacher.wait_joined(room_id, adapter.user_id)

    with pytest.raises(RecipientGone) as unknown:
        await adapter.send(OutboundMessage("!nowhere:petitesvoix.test", text="?"))
    assert unknown.value.reason == "chat_not_found"

    kicked = await teacher.client.room_kick(room_id, adapter.user_id)
    assert isinstance(kicked, RoomKickResponse)
    removed = await sink.wait_for(lambda e: isinstance(e, BotRemovedFromChat))
    assert isinstance(removed, BotRemovedFromChat) and removed.chat.chat_id == room_id
    with pytest.raises(RecipientGone) as gone:
        await adapter.send(OutboundMessage(room_id, text="Toujours là ?"))
    assert gone.value.reason == "kicked"


async def test_synapse_rate_limit_becomes_rate_limited(
    synapse: object, make_adapter: AdapterFactory, make_client: ClientFactory
) -> None:
    from adapters.matrix.devkit.synapse import SynapseServer

    assert isinstance(synapse, SynapseServer)
    limited = synapse.register("limitee")  # rate limit left at Synapse's default
    adapter, sink = make_adapter(store="limited-store", user=limited)
    await adapter.connect(sink)
    parent = await make_client("parent")
    room_id = await dm_with_bot(adapter, sink, parent, encrypted=False)
    with pytest.raises(RateLimited) as err:
        for i in range(30):
            await adapter.send(OutboundMessage(room_id, text=f"message {i}"))
    assert err.value.retry_after > 0
