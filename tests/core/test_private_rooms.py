"""A family's chat must still be the family's when something is sent: a
room someone else came into gets nothing, and the family is told how to
come back (a new direct chat)."""

from __future__ import annotations

from bot.ports import ChatRef, Sender, TextMessage
from tests.core.harness import Stage, eventually, sample

TEACHER = "maitresse"


async def _class(stage: Stage) -> None:
    await stage.setup_class(TEACHER)
    await stage.invite_parent(TEACHER, "Lina", "papa_lina")
    await stage.invite_parent(TEACHER, "Tom", "maman_tom")


async def test_a_room_that_gained_a_third_person_gets_nothing(stage: Stage) -> None:
    await _class(stage)
    stage.adapter.crowded.add("papa_lina")
    await stage.post_audio(TEACHER, sample("loup_groupe3_voice.ogg"), caption="Le loup")
    await stage.publish()
    await eventually(lambda: len(stage.adapter.audio_to("maman_tom")) == 1)
    await stage.idle()
    assert stage.adapter.audio_to("papa_lina") == []
    notice = stage.adapter.texts_to("papa_lina")[-1]
    assert "n'est plus privée" in notice and "nouvelle discussion directe" in notice
    assert "Lina" not in notice and "MS-GS" not in notice  # nothing of the class
    repos = stage.svc.ctx.repos
    guardian = await repos.families.guardian_by_user("memory", "papa_lina")
    assert guardian is not None
    (sub,) = await repos.families.subscriptions_of_guardian(guardian.id)
    assert sub.suspended_reason == "room_not_private"
    # /ecouter there is refused the same way.
    before = len(stage.adapter.sent)
    await stage.say("papa_lina", "/ecouter 1")
    assert stage.adapter.audio_to("papa_lina") == [] and len(stage.adapter.sent) == before + 1

    # The parent opens a new direct chat and resumes: recordings go there.
    await stage.adapter.push(
        TextMessage("m-new", ChatRef("papa_lina_nouveau", True), Sender("papa_lina"), "/reprendre")
    )
    assert "C'est reparti" in stage.adapter.texts_to("papa_lina_nouveau")[-1]
    await stage.post_audio(TEACHER, sample("loup_groupe3_voice.ogg"), caption="La suite")
    await stage.publish()
    await eventually(lambda: len(stage.adapter.audio_to("papa_lina_nouveau")) == 1)
    await stage.idle()
    assert stage.adapter.audio_to("papa_lina") == []
