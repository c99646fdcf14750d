"""A Portuguese-speaking parent on Telegram (the local Bot API server): the
app's language_code is used at subscription, French stays one button away."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.telegram_api import FakeTelegram
from tests.test_telegram_service import (
    GROUP,
    TEACHER,
    fake,
    post_recording,
    said,
    start_service,
    teacher_with_channel,
    texts_to,
    until,
    voices_to,
)

__all__ = ["fake"]  # the fixture, shared with the Telegram story

pytestmark = pytest.mark.filterwarnings("ignore:.*retry_after.*:DeprecationWarning")

PARENT = 9301


def buttons(message_params: dict[str, object]) -> list[tuple[str, str]]:
    markup = message_params.get("reply_markup")
    assert isinstance(markup, dict), message_params
    return [(b["text"], b["callback_data"]) for row in markup["inline_keyboard"] for b in row]


async def test_portuguese_parent_from_language_code(fake: FakeTelegram, tmp_path: Path) -> None:
    service = await start_service(fake, tmp_path)
    try:
        await teacher_with_channel(fake, service)
        before = len(fake.messages_to(501))
        fake.push_text(GROUP, TEACHER, "/invitation Lina")
        await until(lambda: said(fake, 501, "start=") and len(fake.messages_to(501)) > before)
        code = re.search(r"start=([A-Za-z0-9_-]{20,64})", "\n".join(texts_to(fake, 501)))
        assert code
        fake.push_text(GROUP, TEACHER, "/consentement Lina oui")
        await until(lambda: said(fake, -4001, "Lina peut être enregistré"))

        parent = {**FakeTelegram.user(PARENT, "Ana"), "language_code": "pt-BR"}
        chat = FakeTelegram.chat(PARENT)
        fake.push_text(chat, parent, f"/start {code.group(1)}")
        await until(lambda: said(fake, PARENT, "A escola grava"))
        welcome = fake.messages_to(PARENT)[0]
        assert str(welcome.params["text"]).startswith("Feito: está inscrito(a) para Lina")
        assert buttons(welcome.params) == [("Continuer en français", "/langue fr")]
        question = said(fake, PARENT, "A escola grava")
        assert question is not None
        assert [label for label, _ in buttons(question.params)] == ["Sim, aceito", "Não"]

        fake.push_text(chat, parent, "/aide")
        await until(lambda: said(fake, PARENT, "O que me pode pedir"))
        post_recording(fake, caption="")
        await until(lambda: voices_to(fake, PARENT))
        caption = str(voices_to(fake, PARENT)[0].params.get("caption", ""))
        title, day = caption.split("\n")[:2]
        assert title.endswith("Gravação n.º 1") and "de novembro" in day, caption

        # The French button, pressed: French from now on.
        fake.push_callback(chat, parent, "/langue fr", welcome.message_id)
        await until(lambda: said(fake, PARENT, "je vous écris maintenant en français"))
        fake.push_text(chat, parent, "/pause")
        await until(lambda: said(fake, PARENT, "En pause : je ne vous envoie plus rien"))
    finally:
        await service.stop()
    guardian_language = texts_to(fake, PARENT)
    assert not any(t.startswith("Em pausa") for t in guardian_language)
