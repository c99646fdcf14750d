"""The whole service (the core's bootstrap) with the Telegram adapter against the
local Bot API server: what teachers and parents see in their chats."""

from __future__ import annotations

import asyncio
import io
import math
import re
import struct
import wave
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from adapters.memory import plain
from adapters.telegram import TelegramAdapter
from bot.admin import invite_teacher
from bot.app import Service
from bot.config import settings_from_mapping
from tests.telegram_api import FakeTelegram, Limits, running_fake_api
from tests.telegram_api.state import SentMessage

pytestmark = pytest.mark.filterwarnings("ignore:.*retry_after.*:DeprecationWarning")

TEACHER = FakeTelegram.user(501, "Claire", "Martin")
GROUP = FakeTelegram.chat(-4001, "Moyens")
DM_TEACHER = FakeTelegram.chat(501)


def tone_wav(seconds: float = 2.0, rate: int = 16000) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        frames = b"".join(
            struct.pack("<h", int(8000 * math.sin(2 * math.pi * 220 * i / rate)))
            for i in range(int(seconds * rate))
        )
        w.writeframes(frames)
    return buf.getvalue()


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    # The core answers commands at once (onboarding sends two or three
    # messages in a row): allow the short burst real Telegram allows.
    async with running_fake_api(FakeTelegram(limits=Limits(per_private_burst=3))) as api:
        yield api


async def start_service(fake: FakeTelegram, data: Path) -> Service:
    settings = settings_from_mapping(
        {
            "storage": {"data_dir": str(data)},
            "telegram": {"token": fake.token, "api_url": fake.url},
            "schedule": {"quiet_hours": ""},
            "delivery": {"grace_seconds": 0},
        },
        {},
        data,
    )
    adapter = TelegramAdapter(fake.token, fake.url, poll_timeout=1.0)
    service = await Service.create(settings, {"telegram": adapter})
    await service.start()
    return service


def texts_to(fake: FakeTelegram, chat_id: int | str) -> list[str]:
    return [plain(str(m.params.get("text", ""))) for m in fake.messages_to(chat_id)]


async def until(check: Callable[[], object], wait_s: float = 20.0) -> None:
    deadline = asyncio.get_running_loop().time() + wait_s
    while not check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.05)


def said(fake: FakeTelegram, chat_id: int | str, pattern: str) -> SentMessage | None:
    for m in fake.messages_to(chat_id):
        if re.search(pattern, plain(str(m.params.get("text", ""))), re.I):
            return m
    return None


async def teacher_with_channel(fake: FakeTelegram, service: Service) -> None:
    invite = await invite_teacher(service.ctx, "École des Oliviers", "Moyens")
    fake.push_text(DM_TEACHER, TEACHER, f"/start {invite['code']}")
    await until(lambda: texts_to(fake, 501))
    fake.push_my_chat_member(GROUP, TEACHER, "left", "member")
    fake.push_text(GROUP, TEACHER, "/classe@petitesvoixbot")
    fake.push_text(GROUP, TEACHER, "/album Le loup qui voulait changer de couleur")
    await until(lambda: said(fake, -4001, "loup qui voulait"))


async def invite_parent(
    fake: FakeTelegram, child: str, parent_id: int, *, consent: bool = True
) -> None:
    before = len(fake.messages_to(501))
    fake.push_text(GROUP, TEACHER, f"/invitation {child}")
    # The invitation goes to the teacher in private, with its deep link.
    await until(
        lambda: said(fake, 501, f"start=.*|{child}") and len(fake.messages_to(501)) > before
    )
    text = "\n".join(texts_to(fake, 501)[before:])
    code = re.search(r"start=([A-Za-z0-9_-]{20,64})", text)
    assert code, text
    if consent:  # the paper form came back signed
        fake.push_text(GROUP, TEACHER, f"/consentement {child} oui")
        await until(lambda: said(fake, -4001, f"{child} peut être enregistré"))
    parent = FakeTelegram.user(parent_id, "Parent")
    fake.push_text(FakeTelegram.chat(parent_id), parent, f"/start {code.group(1)}")
    await until(lambda: texts_to(fake, parent_id))


async def test_teacher_and_parent_story(fake: FakeTelegram, tmp_path: Path) -> None:
    service = await start_service(fake, tmp_path)
    try:
        await teacher_with_channel(fake, service)
        await invite_parent(fake, "Lina", 9001)
        fake.push_media(
            GROUP,
            TEACHER,
            "document",
            tone_wav(),
            mime="audio/x-wav",
            file_name="loup_groupe1.wav",
            caption="Groupe 1",
        )
        await until(lambda: fake.calls_to("sendVoice"))
        await until(lambda: any(m.method == "sendVoice" for m in fake.messages_to(9001)))
    finally:
        await service.stop()
    voice = next(m for m in fake.messages_to(9001) if m.method == "sendVoice")
    assert "Groupe 1" in str(voice.params.get("caption", ""))
    assert fake.rate_limited_count == 0


def voices_to(fake: FakeTelegram, chat_id: int) -> list[SentMessage]:
    return [m for m in fake.messages_to(chat_id) if m.method in ("sendVoice", "sendAudio")]


def stored_uploads(fake: FakeTelegram) -> int:
    """Uploads Telegram accepted (each gives a new file_id)."""
    return sum(1 for c in fake.calls_to("sendVoice") if c.upload_bytes and c.status == 200)


async def class_with_parents(fake: FakeTelegram, service: Service, parents: list[int]) -> None:
    await teacher_with_channel(fake, service)
    for i, parent in enumerate(parents):
        # The core answers at once: keep under Telegram's pace in the teacher's chat.
        await asyncio.sleep(1.1)
        await invite_parent(fake, f"Enfant{chr(65 + i)}", parent)


def post_recording(fake: FakeTelegram, caption: str = "Groupe 2") -> None:
    fake.push_media(GROUP, TEACHER, "voice", tone_wav(), mime="audio/ogg", caption=caption)


async def test_blocked_parent_does_not_stop_the_others(fake: FakeTelegram, tmp_path: Path) -> None:
    parents = [9001, 9002, 9003]
    service = await start_service(fake, tmp_path)
    try:
        await class_with_parents(fake, service, parents)
        fake.blocked_chats.add("9002")
        post_recording(fake)
        await until(lambda: voices_to(fake, 9001) and voices_to(fake, 9003))
        await until(lambda: any(c.chat_id == "9002" for c in fake.calls_to("sendVoice")))
    finally:
        await service.stop()
    assert voices_to(fake, 9002) == []
    assert [c.status for c in fake.calls_to("sendVoice") if c.chat_id == "9002"] == [403]
    uploads = [c for c in fake.calls_to("sendVoice") if c.upload_bytes]
    assert len(uploads) == 1  # one upload, file_id reused for the others


async def test_429_storm_delivers_each_parent_once(fake: FakeTelegram, tmp_path: Path) -> None:
    parents = [9001, 9002, 9003, 9004]
    service = await start_service(fake, tmp_path)
    try:
        await class_with_parents(fake, service, parents)
        fake.fail_next(6, 429, methods={"sendVoice"}, retry_after=1)
        post_recording(fake)
        await until(lambda: all(voices_to(fake, p) for p in parents), wait_s=40)
    finally:
        await service.stop()
    assert [len(voices_to(fake, p)) for p in parents] == [1, 1, 1, 1]
    assert fake.rate_limited_count >= 6


async def test_restart_in_the_middle_of_a_fan_out(fake: FakeTelegram, tmp_path: Path) -> None:
    parents = [9001, 9002, 9003]
    service = await start_service(fake, tmp_path)
    try:
        await class_with_parents(fake, service, parents)
        # The first voice goes out; the others meet a long 429 and wait.
        fake.fail_next(2, 429, methods={"sendVoice"}, retry_after=4)
        post_recording(fake)
        await until(lambda: len(fake.calls_to("sendVoice")) >= 3)
    finally:
        await service.stop()
    delivered_before = sum(len(voices_to(fake, p)) for p in parents)
    assert delivered_before < len(parents)
    uploads_before = stored_uploads(fake)

    service = await start_service(fake, tmp_path)
    try:
        await until(lambda: all(voices_to(fake, p) for p in parents), wait_s=40)
    finally:
        await service.stop()
    assert [len(voices_to(fake, p)) for p in parents] == [1, 1, 1]
    # The file_id cached before the stop is reused after it.
    assert stored_uploads(fake) == uploads_before == 1


async def test_who_speaks_buttons_and_family_consent(fake: FakeTelegram, tmp_path: Path) -> None:
    """A phone voice note without caption, two Léa, a family's own answer."""
    service = await start_service(fake, tmp_path)
    try:
        await teacher_with_channel(fake, service)
        await invite_parent(fake, "Léa B.", 9001, consent=False)
        await asyncio.sleep(1.1)
        await invite_parent(fake, "Léa M.", 9002, consent=False)
        # Each family is asked once, with buttons.
        await until(lambda: said(fake, 9001, "Acceptez-vous que la voix de Léa B."))
        question = said(fake, 9001, "Acceptez-vous")
        assert question is not None and "reply_markup" in question.params
        parent_b = FakeTelegram.user(9001, "Parent")
        fake.push_callback(FakeTelegram.chat(9001), parent_b, "/consentement oui", 77)
        await until(lambda: said(fake, 9001, "Merci, c'est noté"))
        fake.push_media(GROUP, TEACHER, "voice", tone_wav(), mime="audio/ogg")
        await until(lambda: said(fake, -4001, "Qui parle"))
        answer = said(fake, -4001, "Qui parle")
        assert answer is not None and "Léa M." in answer.params["text"]
        assert "reply_markup" in answer.params
        fake.push_text(GROUP, TEACHER, "#Léa", reply_to=answer.message_id)
        await until(lambda: said(fake, -4001, "plusieurs « Léa »"))
        # The "Léa B." button under the bot's answer.
        fake.push_callback(GROUP, TEACHER, "+#Léa_B.", answer.message_id)
        await until(lambda: said(fake, -4001, "parle : Léa B."))
        await until(lambda: voices_to(fake, 9001) and voices_to(fake, 9002))
        # Léa M.'s family now says no: a new recording naming her stays home.
        parent_m = FakeTelegram.user(9002, "Parent")
        fake.push_text(FakeTelegram.chat(9002), parent_m, "/consentement non")
        await until(lambda: said(fake, -4001, "La famille de Léa M. ne donne pas"))
        post_recording(fake, caption="Léa M. raconte #Lea_M")
        await until(lambda: said(fake, -4001, "l'accord des parents manque pour Léa M."))
    finally:
        await service.stop()
    assert len(voices_to(fake, 9001)) == len(voices_to(fake, 9002)) == 1
