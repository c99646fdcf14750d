"""French typography as the platform receives it: teachers' answers,
families' messages and captions in French get no-break spaces and ’; the
code and links of an invitation stay intact; other languages are untouched."""

from __future__ import annotations

import pytest

from bot.typography import NARROW, NO_BREAK
from tests.core.harness import CODE_LINE, GROUP, Stage, sample

TEACHER = "maitresse"
TYPOGRAPHY = (NARROW, NO_BREAK, "’")


@pytest.fixture
def database() -> None:
    """SQLite only: words, not storage."""
    return None


def raw_to(stage: Stage, chat: str) -> list[str]:
    return [s.message.text for s in stage.adapter.sent if s.message.chat_id == chat]


async def test_french_chats_are_typeset_and_codes_stay_intact(stage: Stage) -> None:
    await stage.setup_class(TEACHER)
    await stage.say(TEACHER, "/invitation Lina", chat=GROUP)
    invitation = raw_to(stage, TEACHER)[-1]
    assert f"classe «{NO_BREAK}MS-GS{NO_BREAK}»" in invitation
    assert f"au plus{NO_BREAK}:" in invitation and " :" not in invitation
    code = CODE_LINE.search(invitation)
    assert code is not None
    assert f"https://t.me/petitesvoix_test_bot?start={code.group(0)}" in invitation
    assert "/invitations" in invitation

    await stage.invite_parent(TEACHER, "Lina", "papa_lina")
    await stage.invite_parent(TEACHER, "Tom", "dad_tom")
    before = len(raw_to(stage, "dad_tom"))
    await stage.say("dad_tom", "/langue en")
    await stage.post_audio(TEACHER, sample("loup_groupe2.mp3"), caption="Groupe 2 #Lina")
    await stage.publish()
    await stage.idle()
    (french,) = [s.message.text for s in stage.adapter.audio_to("papa_lina")]
    assert f"couleur{NO_BREAK}: Groupe 2" in french
    await stage.say("papa_lina", "Merci !")
    assert raw_to(stage, "papa_lina")[-1] == f"Avec plaisir{NARROW}! Bonne écoute en famille."

    # English: the family's texts as translated, with no French spaces added.
    (english,) = [s.message.text for s in stage.adapter.audio_to("dad_tom")]
    await stage.say("dad_tom", "Thanks!")
    await stage.say("dad_tom", "/aide")
    after_language = raw_to(stage, "dad_tom")[before:]
    assert len(after_language) >= 4
    for text in (english, *after_language):
        assert not any(mark in text for mark in (NARROW, "’")), text
