"""What the core sends reaches Telegram as it should, and failures map to the port's errors."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest

from adapters.telegram import TelegramAdapter
from bot.ports import (
    Activity,
    Choice,
    OutboundAudio,
    OutboundDocument,
    OutboundMessage,
    PermanentFailure,
    RateLimited,
    RecipientGone,
    TransientFailure,
)
from tests.media_files import media_file
from tests.telegram_api import FakeTelegram, running_fake_api, start_fake_api
from tests.telegram_api.harness import Inbox, connected

# PTB's own RetryAfter constructor reads its deprecated int attribute.
pytestmark = pytest.mark.filterwarnings("ignore:.*retry_after.*:DeprecationWarning")

PARENTS = [str(1000 + i) for i in range(5)]
GROUP = "-4001"


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    async with running_fake_api() as api:
        yield api


@pytest.fixture
async def adapter(fake: FakeTelegram) -> AsyncIterator[TelegramAdapter]:
    async with connected(fake) as (adapter, _):
        yield adapter


@pytest.fixture
def recording(tmp_path: Path) -> OutboundAudio:
    voice = tmp_path / "loup.ogg"
    voice.write_bytes(b"OggS" + b"\x11" * 12_000)
    compat = tmp_path / "loup.m4a"
    compat.write_bytes(b"\x00\x00\x00\x18ftypM4A " + b"\x22" * 20_000)
    return OutboundAudio(
        voice=media_file(voice, "audio/ogg", "voice"),
        compat=media_file(compat, "audio/mp4", "compat"),
        duration_s=41.6,
        title="Le loup – groupe 1",
        performer="Classe des moyens",
    )


def with_refs(audio: OutboundAudio, refs: dict[str, str]) -> OutboundAudio:
    return OutboundAudio(
        voice=replace(audio.voice, cached_ref=refs.get("voice")),
        compat=replace(audio.compat, cached_ref=refs.get("compat")),
        duration_s=audio.duration_s,
        title=audio.title,
        performer=audio.performer,
    )


async def test_text_with_buttons_and_reply(fake: FakeTelegram, adapter: TelegramAdapter) -> None:
    receipt = await adapter.send(
        OutboundMessage(
            chat_id="777",
            text="Quand voulez-vous recevoir les enregistrements ?",
            choices=(
                Choice("Tout de suite", "/frequence immediat"),
                Choice("Chaque soir", "/frequence quotidien"),
                Choice("Le vendredi", "/frequence hebdomadaire"),
            ),
            reply_to="55",
        )
    )
    (call,) = fake.calls_to("sendMessage")
    assert call.chat_id == "777"
    assert call.params["text"] == "Quand voulez-vous recevoir les enregistrements ?"
    buttons = [b for row in call.params["reply_markup"]["inline_keyboard"] for b in row]
    assert [(b["text"], b["callback_data"]) for b in buttons] == [
        ("Tout de suite", "/frequence immediat"),
        ("Chaque soir", "/frequence quotidien"),
        ("Le vendredi", "/frequence hebdomadaire"),
    ]
    assert call.params["reply_parameters"]["message_id"] == 55
    assert receipt.media_refs == {}
    assert [str(m.message_id) for m in fake.messages_to("777")] == [receipt.message_id]


async def test_long_text_is_split_and_deleted_whole(
    fake: FakeTelegram, adapter: TelegramAdapter
) -> None:
    text = "\n".join(f"{i:04d} Lina, Noé, Chloé 🎧 enregistrements" for i in range(120))
    receipt = await adapter.send(OutboundMessage(chat_id="777", text=text))
    sent = [c.params["text"] for c in fake.calls_to("sendMessage")]
    assert len(sent) == 2
    assert all(len(t.encode("utf-16-le")) // 2 <= 4096 for t in sent)
    assert "\n".join(sent) == text
    assert len(receipt.message_id.split(",")) == len(sent)
    assert await adapter.delete("777", receipt.message_id) is True
    assert fake.messages_to("777") == []


async def test_delete_refused_by_telegram_is_false(
    fake: FakeTelegram, adapter: TelegramAdapter
) -> None:
    receipt = await adapter.send(OutboundMessage(chat_id="777", text="Bonjour"))
    fake.sent[("777", int(receipt.message_id))].deletable = False  # older than 48 h
    assert await adapter.delete("777", receipt.message_id) is False
    assert await adapter.delete("777", "999999") is False


async def test_pdf_document_is_uploaded(
    fake: FakeTelegram, adapter: TelegramAdapter, tmp_path: Path
) -> None:
    pdf = tmp_path / "slips.pdf"
    pdf.write_bytes(b"%PDF-1.4\n" + b"x" * 3000)
    await adapter.send(
        OutboundMessage(
            chat_id=GROUP,
            text="Les invitations de la classe",
            document=OutboundDocument(pdf, "invitations-moyens.pdf", "application/pdf"),
        )
    )
    (doc,) = fake.calls_to("sendDocument")
    assert doc.upload_bytes == pdf.stat().st_size
    (stored,) = [f for f in fake.files.values() if f.kind == "document"]
    assert stored.data == pdf.read_bytes()
    assert stored.file_name == "invitations-moyens.pdf"
    assert doc.params["caption"] == "Les invitations de la classe"
    assert [c.method for c in fake.calls if c.chat_id == GROUP] == ["sendDocument"]


async def test_long_text_then_recording_waits_out_a_429_between_parts(
    fake: FakeTelegram, adapter: TelegramAdapter, recording: OutboundAudio
) -> None:
    text = "Bonsoir ! " * 150  # over a caption: a message of its own first
    fake.fail_next(1, 429, methods={"sendVoice"}, retry_after=1)
    receipt = await adapter.send(OutboundMessage(chat_id="777", text=text, audio=recording))
    assert [c.method for c in fake.calls if c.chat_id == "777"] == [
        "sendMessage",
        "sendVoice",
        "sendVoice",
    ]
    assert [c.status for c in fake.calls_to("sendVoice")] == [429, 200]
    assert len(fake.calls_to("sendMessage")) == 1  # the text was not sent twice
    text_id, voice_id = receipt.message_id.split(",")
    assert {str(m.message_id) for m in fake.messages_to("777")} == {text_id, voice_id}
    assert fake.calls_to("sendVoice")[-1].params["caption"] == "Le loup – groupe 1"


async def test_one_upload_for_five_parents(
    fake: FakeTelegram, adapter: TelegramAdapter, recording: OutboundAudio
) -> None:
    refs: dict[str, str] = {}
    for chat in PARENTS:
        receipt = await adapter.send(
            OutboundMessage(chat_id=chat, audio=with_refs(recording, refs))
        )
        refs.update(receipt.media_refs)
    voices = fake.calls_to("sendVoice")
    assert len(voices) == 5 and all(c.status == 200 for c in voices)
    assert fake.upload_count == 1
    assert fake.upload_bytes == recording.voice.size
    assert [c.params["voice"] for c in voices[1:]] == [refs["voice"]] * 4
    first = voices[0]
    assert first.params["caption"] == "Le loup – groupe 1"
    assert first.params["duration"] == "42"


async def test_refused_file_id_is_uploaded_again(
    fake: FakeTelegram, adapter: TelegramAdapter, recording: OutboundAudio
) -> None:
    first = await adapter.send(OutboundMessage(chat_id=PARENTS[0], audio=recording))
    old = first.media_refs["voice"]
    fake.refused_file_ids.add(old)
    again = await adapter.send(
        OutboundMessage(chat_id=PARENTS[1], audio=with_refs(recording, first.media_refs))
    )
    assert fake.upload_count == 2
    assert again.media_refs["voice"] != old
    assert [c.status for c in fake.calls_to("sendVoice")] == [200, 400, 200]


async def test_voice_refused_falls_back_to_audio(
    fake: FakeTelegram, adapter: TelegramAdapter, recording: OutboundAudio
) -> None:
    fake.voice_forbidden_chats.add(PARENTS[0])
    receipt = await adapter.send(OutboundMessage(chat_id=PARENTS[0], audio=recording))
    (audio,) = fake.calls_to("sendAudio")
    assert audio.status == 200
    assert audio.params["title"] == "Le loup – groupe 1"
    assert audio.params["performer"] == "Classe des moyens"
    assert audio.params["duration"] == "42"
    assert audio.upload_bytes == recording.compat.size
    assert set(receipt.media_refs) == {"compat"}
    (msg,) = fake.messages_to(PARENTS[0])
    assert str(msg.message_id) == receipt.message_id
    # The compat id is reused next time too.
    fake.voice_forbidden_chats.add(PARENTS[1])
    await adapter.send(
        OutboundMessage(chat_id=PARENTS[1], audio=with_refs(recording, receipt.media_refs))
    )
    # Refused voice bytes went over the wire once per new chat; compat once.
    assert fake.upload_count == 3
    assert [c.params["audio"] for c in fake.calls_to("sendAudio")[1:]] == [
        receipt.media_refs["compat"]
    ]
    # A chat known to refuse voice notes gets the audio at once.
    before = len(fake.calls_to("sendVoice"))
    await asyncio.sleep(1.0)  # Telegram's pace for one chat
    await adapter.send(
        OutboundMessage(chat_id=PARENTS[0], audio=with_refs(recording, receipt.media_refs))
    )
    assert len(fake.calls_to("sendVoice")) == before
    assert fake.upload_count == 3


async def test_429_is_rate_limited_and_not_retried_behind_our_back(
    fake: FakeTelegram, adapter: TelegramAdapter
) -> None:
    fake.fail_next(1, 429, retry_after=3)
    with pytest.raises(RateLimited) as caught:
        await adapter.send(OutboundMessage(chat_id="777", text="Bonjour"))
    assert caught.value.retry_after == 3
    assert caught.value.chat_id == "777"
    assert len(fake.calls_to("sendMessage")) == 1
    assert fake.messages_to("777") == []


async def test_server_flood_limit_per_private_chat(
    fake: FakeTelegram, adapter: TelegramAdapter
) -> None:
    await adapter.send(OutboundMessage(chat_id="777", text="un"))
    with pytest.raises(RateLimited) as caught:
        await adapter.send(OutboundMessage(chat_id="777", text="deux"))
    assert caught.value.retry_after >= 1
    await adapter.send(OutboundMessage(chat_id="778", text="trois"))  # another chat is fine


async def test_blocked_vanished_and_migrated_recipients(
    fake: FakeTelegram, adapter: TelegramAdapter, recording: OutboundAudio
) -> None:
    fake.blocked_chats.add("901")
    fake.vanished_chats.add("902")
    fake.migrated_chats[GROUP] = -1009876543210
    with pytest.raises(RecipientGone) as blocked:
        await adapter.send(OutboundMessage(chat_id="901", audio=recording))
    assert blocked.value.reason == "blocked"
    with pytest.raises(RecipientGone) as vanished:
        await adapter.send(OutboundMessage(chat_id="902", text="Bonjour"))
    assert vanished.value.reason == "chat_not_found"
    with pytest.raises(RecipientGone) as migrated:
        await adapter.send(OutboundMessage(chat_id=GROUP, text="Enregistrement classé"))
    assert migrated.value.reason == "migrated"
    assert migrated.value.detail == "-1009876543210"
    assert fake.upload_count == 1  # the refused voice was sent once, not retried


async def test_5xx_is_transient_other_400_permanent(
    fake: FakeTelegram, adapter: TelegramAdapter
) -> None:
    fake.fail_next(1, 500)
    with pytest.raises(TransientFailure):
        await adapter.send(OutboundMessage(chat_id="777", text="Bonjour"))
    fake.fail_next(1, 502)
    with pytest.raises(TransientFailure):
        await adapter.send(OutboundMessage(chat_id="778", text="Bonjour"))
    fake.fail_next(1, 400, description="Bad Request: can't parse entities")
    with pytest.raises(PermanentFailure) as caught:
        await adapter.send(OutboundMessage(chat_id="779", text="Bonjour"))
    assert caught.value.reason == "bad_request"


async def test_network_down_is_transient_and_disconnect_still_stops() -> None:
    fake, runner = await start_fake_api()
    adapter = TelegramAdapter(fake.token, fake.url, poll_timeout=1.0)
    await adapter.connect(Inbox())
    fake.close()
    await runner.cleanup()  # the server is gone: connection refused
    with pytest.raises(TransientFailure):
        await adapter.send(OutboundMessage(chat_id="777", text="Bonjour"))
    await adapter.disconnect()
    with pytest.raises(TransientFailure):
        await adapter.send(OutboundMessage(chat_id="777", text="Bonjour"))


async def test_activity_and_leave(fake: FakeTelegram, adapter: TelegramAdapter) -> None:
    await adapter.show_activity("777", Activity.UPLOADING_VOICE)
    fake.blocked_chats.add("901")
    await adapter.show_activity("901", Activity.RECORDING_VOICE)  # best effort, no error
    await adapter.leave(GROUP)
    await adapter.join(GROUP)
    assert fake.chat_actions == [("777", "upload_voice")]
    assert fake.left_chats == [GROUP]
