"""What a family reads under a recording: the class, the day, who speaks,
and « pour votre famille seulement » when it is theirs alone."""

from __future__ import annotations

import pytest

from adapters.memory import plain
from bot.ports import OutboundMessage
from tests.core.harness import GROUP, Stage, sample

TEACHER = "maitresse"


@pytest.fixture
def database() -> None:
    """SQLite only: captions read nothing that differs between backends."""
    return None


def recordings_to(stage: Stage, chat: str) -> list[OutboundMessage]:
    return [s.message for s in stage.adapter.sent if s.message.chat_id == chat and s.message.audio]


async def family_of_three(stage: Stage) -> None:
    await stage.setup_class(TEACHER)
    await stage.invite_parent(TEACHER, "Lina", "papa_lina")
    await stage.invite_parent(TEACHER, "Tom", "maman_tom")
    await stage.invite_parent(TEACHER, "Zoé", "papa_zoe")


async def test_caption_says_the_class_the_day_and_who_speaks(stage: Stage) -> None:
    await family_of_three(stage)
    await stage.post_audio(TEACHER, sample("loup_groupe2.mp3"), caption="Groupe 2 #Lina #Tom")
    await stage.publish()
    await stage.idle()
    for parent in ("papa_lina", "maman_tom", "papa_zoe"):
        (message,) = recordings_to(stage, parent)
        assert plain(message.text).split("\n") == [
            "Le loup qui voulait changer de couleur : Groupe 2",
            "MS-GS, mardi 24 novembre",
            "On entend Lina et Tom.",
        ], parent


async def test_a_private_recording_names_only_the_familys_child(stage: Stage) -> None:
    await family_of_three(stage)
    mid = await stage.post_audio(
        TEACHER, sample("loup_groupe2.mp3"), caption="Ma comptine #prive #Lina"
    )
    # Tom tagged in it too: still never named to Lina's family.
    repos = stage.svc.ctx.repos
    rec = await repos.recordings.by_message("memory", GROUP, mid)
    assert rec is not None and rec.is_private and rec.private_child_id is not None
    tom = next(
        c for c in await repos.families.children_of_class(rec.class_id) if c.first_name == "Tom"
    )
    assert await repos.recordings.set_tags(
        rec.id, [rec.private_child_id, tom.id], rec.private_child_id
    )
    await stage.publish()
    await stage.idle()
    (message,) = recordings_to(stage, "papa_lina")
    assert "pour votre famille seulement" in message.text
    assert "On entend Lina." in message.text
    assert "Tom" not in message.text and "Zoé" not in message.text
    assert recordings_to(stage, "maman_tom") == [] and recordings_to(stage, "papa_zoe") == []


async def test_caption_in_the_familys_language(stage: Stage) -> None:
    await family_of_three(stage)
    await stage.say("maman_tom", "/langue en")
    await stage.post_audio(TEACHER, sample("loup_groupe2.mp3"), caption="Groupe 1 #Tom #Zoé #Lina")
    await stage.publish()
    await stage.idle()
    (message,) = recordings_to(stage, "maman_tom")
    lines = message.text.split("\n")
    assert lines[1] == "MS-GS, Tuesday, November 24"
    assert lines[2] == "You can hear Lina, Tom, and Zoé."
    (french,) = recordings_to(stage, "papa_lina")
    assert "On entend Lina, Tom et Zoé." in french.text
