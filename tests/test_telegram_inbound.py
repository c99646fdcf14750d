"""Telegram updates reach the core as the port's events, through PTB's real HTTP stack."""

from __future__ import annotations

import io
import wave
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from adapters.telegram import TelegramAdapter
from bot.ports import (
    AttachmentUnavailable,
    BotAddedToChat,
    BotRemovedFromChat,
    ChatMigrated,
    CommandMenu,
    MediaMessage,
    TextMessage,
)
from tests.telegram_api import FakeTelegram, post_to_webhook, running_fake_api
from tests.telegram_api.harness import connected, free_port

TEACHER = FakeTelegram.user(501, "Claire", "Martin")
PARENT = FakeTelegram.user(777, "Karim")
GROUP = FakeTelegram.chat(-4001, "Moyens – classe de Claire")
DM_TEACHER = FakeTelegram.chat(501)
DM_PARENT = FakeTelegram.chat(777)


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    async with running_fake_api() as api:
        yield api


def wav_bytes(seconds: float = 0.5) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b"\x00\x01" * int(8000 * seconds))
    return buf.getvalue()


async def test_private_and_group_texts_keep_commands_as_typed(fake: FakeTelegram) -> None:
    async with connected(fake) as (_, inbox):
        fake.push_text(DM_TEACHER, TEACHER, "/start AbCdEfGhIjKlMnOpQrSt_-")
        first = await inbox.next()
        fake.push_text(GROUP, TEACHER, "/classe@petitesvoixbot", reply_to=42)
        second = await inbox.next()

    assert isinstance(first, TextMessage)
    assert first.text == "/start AbCdEfGhIjKlMnOpQrSt_-"
    assert first.chat.chat_id == "501" and first.chat.is_direct
    assert first.sender.user_id == "501"
    assert first.sender.display_name == "Claire Martin"
    assert first.message_id.isdigit()

    assert isinstance(second, TextMessage)
    assert second.text == "/classe@petitesvoixbot"
    assert second.chat.chat_id == "-4001"
    assert not second.chat.is_direct
    assert second.chat.title == "Moyens – classe de Claire"
    assert second.reply_to == "42"


async def test_voice_note_becomes_media_message_and_downloads(fake: FakeTelegram) -> None:
    payload = b"OggS" + bytes(range(256)) * 40
    async with connected(fake) as (adapter, inbox):
        _, stored = fake.push_media(
            GROUP,
            TEACHER,
            "voice",
            payload,
            mime="audio/ogg",
            duration=7,
            caption="Le loup, groupe 3",
        )
        event = await inbox.next()
        assert isinstance(event, MediaMessage)
        data = await adapter.download(event.attachment.ref)

    assert event.attachment.kind == "voice"
    assert event.attachment.ref == stored.file_id
    assert event.attachment.size == len(payload)
    assert event.attachment.mime == "audio/ogg"
    assert event.attachment.duration_s == 7
    assert event.caption == "Le loup, groupe 3"
    assert event.chat.chat_id == "-4001"
    assert data == payload
    assert len(fake.calls_to("getFile")) == 1


async def test_download_works_after_a_restart_with_the_stored_ref(fake: FakeTelegram) -> None:
    payload = b"ID3" + b"\x55" * 5000
    async with connected(fake) as (_, inbox):
        fake.push_media(GROUP, TEACHER, "audio", payload, mime="audio/mpeg", file_name="g2.mp3")
        event = await inbox.next()
    assert isinstance(event, MediaMessage)
    async with connected(fake) as (fresh, _):
        assert await fresh.download(event.attachment.ref) == payload


async def test_audio_and_wav_document_with_captions(fake: FakeTelegram) -> None:
    wav = wav_bytes()
    async with connected(fake) as (_, inbox):
        fake.push_media(
            GROUP,
            TEACHER,
            "audio",
            b"ID3" + b"\x01" * 900,
            mime="audio/mpeg",
            file_name="loup_groupe2.mp3",
            duration=12,
            caption="Groupe 2 #Lina",
        )
        audio = await inbox.next()
        fake.push_media(
            GROUP, TEACHER, "document", wav, mime="audio/x-wav", file_name="loup_groupe1.wav"
        )
        doc = await inbox.next()
        fake.push_media(
            GROUP, TEACHER, "document", b"%PDF-1.4", mime="application/pdf", file_name="a.pdf"
        )
        other = await inbox.next()

    assert isinstance(audio, MediaMessage)
    assert audio.attachment.kind == "audio"
    assert audio.attachment.filename == "loup_groupe2.mp3"
    assert audio.attachment.duration_s == 12
    assert audio.caption == "Groupe 2 #Lina"
    assert isinstance(doc, MediaMessage)
    assert doc.attachment.kind == "document"
    assert doc.attachment.filename == "loup_groupe1.wav"
    assert doc.attachment.mime == "audio/x-wav"
    assert doc.attachment.size == len(wav)
    assert doc.caption == ""
    # Not audio at all: still handed over, the core decides.
    assert isinstance(other, MediaMessage)
    assert other.attachment.mime == "application/pdf"


async def test_file_over_20_mb_is_refused_without_calling_getfile(fake: FakeTelegram) -> None:
    big = 25 * 1024 * 1024
    async with connected(fake) as (adapter, inbox):
        fake.push_media(
            GROUP, TEACHER, "document", b"RIFF", file_name="long.wav", declared_size=big
        )
        event = await inbox.next()
        assert isinstance(event, MediaMessage)
        assert event.attachment.size == big
        with pytest.raises(AttachmentUnavailable) as caught:
            await adapter.download(event.attachment.ref)
    assert caught.value.reason == "too_big"
    assert fake.calls_to("getFile") == []


async def test_file_over_20_mb_of_unknown_size_is_refused_by_getfile(fake: FakeTelegram) -> None:
    stored = fake.store_file(b"RIFF", "document", declared_size=21 * 1024 * 1024)
    async with connected(fake) as (adapter, _):
        with pytest.raises(AttachmentUnavailable) as caught:
            await adapter.download(stored.file_id)
        assert caught.value.reason == "too_big"
        with pytest.raises(AttachmentUnavailable) as gone:
            await adapter.download("no-such-file-id")
        assert gone.value.reason == "unavailable"
    assert len(fake.calls_to("getFile")) == 2


async def test_bot_added_and_removed(fake: FakeTelegram) -> None:
    async with connected(fake) as (_, inbox):
        fake.push_my_chat_member(GROUP, TEACHER, "left", "member")
        added = await inbox.next()
        fake.push_my_chat_member(GROUP, TEACHER, "member", "administrator")  # promoted: nothing
        fake.push_my_chat_member(GROUP, TEACHER, "administrator", "kicked")
        removed = await inbox.next()
        fake.push_my_chat_member(DM_PARENT, PARENT, "member", "kicked")  # parent blocked the bot
        blocked = await inbox.next()

    assert isinstance(added, BotAddedToChat)
    assert added.chat.chat_id == "-4001" and not added.chat.is_direct
    assert added.by is not None and added.by.user_id == "501"
    assert isinstance(removed, BotRemovedFromChat)
    assert removed.chat.chat_id == "-4001"
    assert isinstance(blocked, BotRemovedFromChat)
    assert blocked.chat.is_direct and blocked.chat.chat_id == "777"
    assert not added.chat.is_broadcast


async def test_a_broadcast_channel_is_told_apart_from_a_group(fake: FakeTelegram) -> None:
    channel = {"id": -1009876543210, "type": "channel", "title": "Canal de la classe"}
    async with connected(fake) as (_, inbox):
        fake.push_my_chat_member(channel, TEACHER, "left", "administrator")
        added = await inbox.next()
    assert isinstance(added, BotAddedToChat)
    assert added.chat.is_broadcast and not added.chat.is_direct


async def test_group_migration(fake: FakeTelegram) -> None:
    async with connected(fake) as (_, inbox):
        fake.push_migration(GROUP, -1001234567890)
        event = await inbox.next()
    assert event == ChatMigrated(old_chat_id="-4001", new_chat_id="-1001234567890")


async def test_button_press_becomes_the_command_text(fake: FakeTelegram) -> None:
    async with connected(fake) as (_, inbox):
        update = fake.push_callback(DM_PARENT, PARENT, "/frequence quotidien", message_id=1234)
        event = await inbox.next()
    assert isinstance(event, TextMessage)
    assert event.text == "/frequence quotidien"
    assert event.chat.chat_id == "777" and event.chat.is_direct
    assert event.sender.user_id == "777"
    assert event.reply_to == "1234"
    assert fake.answered_callbacks == [update["callback_query"]["id"]]


async def test_privacy_mode_and_invite_link_come_from_getme(fake: FakeTelegram) -> None:
    adapter = TelegramAdapter(fake.token, fake.url)
    assert adapter.capabilities.invite_link_template is None
    async with connected(fake) as (adapter, _):
        assert adapter.sees_all_group_messages is False
        caps = adapter.capabilities
    assert caps.invite_link_template == "https://t.me/petitesvoixbot?start={code}"
    assert caps.max_download_bytes == 20 * 1024 * 1024
    assert caps.max_upload_bytes == 50 * 1024 * 1024
    assert caps.has_buttons and caps.can_delete
    assert caps.command_prefixes == ("/",)

    fake.can_read_all_group_messages = True
    async with connected(fake, global_rate_per_s=12.0) as (adapter, _):
        assert adapter.sees_all_group_messages is True
        assert adapter.capabilities.global_rate_per_s == 12.0


async def test_french_menus_are_registered_per_scope(fake: FakeTelegram) -> None:
    menu = CommandMenu(
        private=(("start", "S’inscrire avec un code"), ("/fréquence", "Choisir le rythme")),
        group=(("classe", "Faire de ce groupe le canal de la classe"), ("album", "Album en cours")),
    )
    async with connected(fake, menu=menu):
        pass
    assert fake.commands["all_private_chats"] == [
        {"command": "start", "description": "S’inscrire avec un code"},
        {"command": "frequence", "description": "Choisir le rythme"},
    ]
    assert [c["command"] for c in fake.commands["all_group_chats"]] == ["classe", "album"]


async def test_the_private_menu_is_explained_in_each_family_language(fake: FakeTelegram) -> None:
    from bot.commands import PARENT_COMMANDS, menu, translated_menus

    parents = CommandMenu(
        private=menu(PARENT_COMMANDS, "/"),
        group=(),
        private_translated=translated_menus(PARENT_COMMANDS, "/"),
    )
    async with connected(fake, menu=parents):
        pass
    french = fake.commands["all_private_chats"]
    portuguese = fake.commands["all_private_chats:pt"]
    # Same French command names; the descriptions in the app's language.
    assert [c["command"] for c in portuguese] == [c["command"] for c in french]
    assert {"command": "pause", "description": "não receber nada por agora"} in portuguese
    assert {"command": "pause", "description": "ne plus rien recevoir pour l'instant"} in french
    assert sorted(k.split(":")[1] for k in fake.commands if ":" in k) == [
        "ar",
        "en",
        "es",
        "pt",
        "tr",
    ]


async def test_updates_fetched_before_disconnect_are_all_delivered(fake: FakeTelegram) -> None:
    async with connected(fake) as (_, inbox):
        for i in range(5):
            fake.push_text(DM_PARENT, PARENT, f"message {i}")
        got = [await inbox.next() for _ in range(5)]
    assert [e.text for e in got if isinstance(e, TextMessage)] == [f"message {i}" for i in range(5)]
    # The offset was confirmed: a new connection gets nothing again.
    async with connected(fake) as (_, inbox):
        fake.push_text(DM_PARENT, PARENT, "suivant")
        nxt = await inbox.next()
    assert isinstance(nxt, TextMessage) and nxt.text == "suivant"


async def test_webhook_mode_checks_the_secret(fake: FakeTelegram) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/telegram/hook"
    async with connected(
        fake, webhook_url=url, webhook_port=port, webhook_secret="s3cret-Value_1"
    ) as (_, inbox):
        assert fake.webhook is not None
        assert fake.webhook["url"] == url
        assert fake.webhook["secret_token"] == "s3cret-Value_1"
        good = fake.push_text(DM_PARENT, PARENT, "/aide")
        bad = fake.push_text(DM_PARENT, PARENT, "/arreter")
        assert await post_to_webhook(fake, bad, "wrong") == 403
        assert await post_to_webhook(fake, bad, None) == 403
        assert await post_to_webhook(fake, good, "s3cret-Value_1") == 200
        event = await inbox.next()
        assert isinstance(event, TextMessage) and event.text == "/aide"
        assert inbox.empty()
    assert fake.calls_to("getUpdates") == []
    # Stopped: the listener is closed.
    with pytest.raises(aiohttp.ClientError):
        await post_to_webhook(fake, good, "s3cret-Value_1")


async def test_an_update_handled_before_a_crash_is_not_handled_again(
    fake: FakeTelegram, tmp_path: Path
) -> None:
    state = tmp_path / "telegram"
    async with connected(fake, state_dir=state) as (_, inbox):
        handled = fake.push_text(DM_PARENT, PARENT, "/start CODE1")
        first = await inbox.next()
        assert isinstance(first, TextMessage) and first.text == "/start CODE1"
    assert (state / "telegram-offset").read_text() == str(handled["update_id"] + 1)
    # As after a SIGKILL right after handling it: Telegram sends it again.
    fake.push_update({"update_id": handled["update_id"], "message": handled["message"]})
    async with connected(fake, state_dir=state) as (_, inbox):
        fake.push_text(DM_PARENT, PARENT, "/frequence quotidien")
        nxt = await inbox.next()
        assert isinstance(nxt, TextMessage) and nxt.text == "/frequence quotidien"
        assert inbox.empty()
