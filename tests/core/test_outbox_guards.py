"""The outbox changes a delivery or a digest only from the state it expects:
a send that finishes after /retirer or /pause, a digest paused half-way,
/retirer of what went out inside a digest."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from bot.ports import OutboundMessage
from storage.repos.audit import AuditRepo
from storage.repos.deliveries import DeliveryRepo
from tests.core.digests_kit import (
    CLIP,
    audio_titles,
    class_with,
    digest_texts,
    paris,
    plan_at,
    settle,
)
from tests.core.faults import Fault, inject_async, locked
from tests.core.harness import GROUP, Stage, eventually, sample

TEACHER = "maitresse"
LOUP = "Le loup qui voulait changer de couleur"
EVENING = paris(2026, 11, 24, 18, 0)
NEXT_EVENING = paris(2026, 11, 25, 18, 0)


async def _post(stage: Stage, *titles: str) -> list[str]:
    return [await stage.post_audio(TEACHER, sample(CLIP), caption=t) for t in titles]


def _audio_to(chat: str, title: str) -> Callable[[OutboundMessage], bool]:
    def held(message: OutboundMessage) -> bool:
        audio = message.audio
        return message.chat_id == chat and audio is not None and audio.title.endswith(title)

    return held


async def _withdraw(stage: Stage, message_id: str) -> str:
    await stage.say(TEACHER, "/retirer", chat=GROUP, reply_to=message_id)
    return stage.adapter.texts_to(GROUP)[-1]


async def test_a_send_finishing_after_retirer_is_taken_back_and_not_counted_failed(
    stage: Stage,
) -> None:
    await class_with(stage, papa="immediat")
    (m1,) = await _post(stage, "Groupe 1")
    stage.adapter.hold = _audio_to("papa", "Groupe 1")
    await stage.publish()
    await eventually(lambda: bool(stage.adapter.held))

    answer = await _withdraw(stage, m1)
    assert answer.startswith("Retiré")
    stage.adapter.release()
    await settle(stage)

    (sent,) = stage.adapter.audio_to("papa")
    assert sent.deleted, "the withdrawn recording stayed in the parent's chat"
    repos = stage.svc.ctx.repos
    counts = await repos.deliveries.counts_by_state()
    assert counts["sent"] == 0 and counts["failed"] == 0 and counts.get("cancelled") == 1
    assert await repos.deliveries.failures_by_reason() == {}


async def test_pause_half_way_through_a_digest_then_reprendre_sends_each_once(
    stage: Stage,
) -> None:
    await class_with(stage, papa="quotidien")
    await _post(stage, "Groupe 1", "Groupe 2", "Groupe 3")
    await stage.publish()
    # The digest's second recording is still on its way when the parent pauses.
    stage.adapter.hold = _audio_to("papa", "Groupe 2")
    assert await plan_at(stage, EVENING) == 1
    stage.svc.ctx.wake.deliveries()
    await eventually(lambda: bool(stage.adapter.held))
    await stage.say("papa", "/pause")
    stage.adapter.release()
    await settle(stage)  # idle: nothing due, nothing in flight
    assert audio_titles(stage, "papa") == [f"{LOUP} : Groupe 1", f"{LOUP} : Groupe 2"]

    await stage.say("papa", "/reprendre")
    await settle(stage)
    assert audio_titles(stage, "papa") == [f"{LOUP} : Groupe {i}" for i in (1, 2, 3)]
    assert len(digest_texts(stage, "papa")) == 1
    # Nothing more comes with the next digest either.
    await plan_at(stage, NEXT_EVENING)
    await settle(stage)
    assert len(audio_titles(stage, "papa")) == 3


async def test_pause_before_a_digest_started_then_reprendre_sends_each_once(
    stage: Stage,
) -> None:
    await class_with(stage, papa="quotidien")
    await _post(stage, "Groupe 1", "Groupe 2")
    await stage.publish()

    def digest_intro(message: OutboundMessage) -> bool:
        return message.chat_id == "papa" and message.text.startswith("Le résumé")

    stage.adapter.hold = digest_intro
    assert await plan_at(stage, EVENING) == 1
    stage.svc.ctx.wake.deliveries()
    await eventually(lambda: bool(stage.adapter.held))
    await stage.say("papa", "/pause")
    stage.adapter.release()
    await settle(stage)
    assert audio_titles(stage, "papa") == []
    # Its first message went out as the pause came: taken back.
    (first_intro,) = [s for s in stage.adapter.sent if s.message.text.startswith("Le résumé")]
    assert first_intro.deleted

    await stage.say("papa", "/reprendre")
    await plan_at(stage, NEXT_EVENING)
    await settle(stage)
    assert audio_titles(stage, "papa") == [f"{LOUP} : Groupe 1", f"{LOUP} : Groupe 2"]


async def test_retirer_removes_a_recording_from_the_digest_that_carried_it(
    stage: Stage,
) -> None:
    await class_with(stage, papa="quotidien", maman="immediat")
    m1, _ = await _post(stage, "Groupe 1", "Groupe 2")
    await stage.publish()
    await plan_at(stage, EVENING)
    await settle(stage)
    assert audio_titles(stage, "papa") == [f"{LOUP} : Groupe 1", f"{LOUP} : Groupe 2"]

    answer = await _withdraw(stage, m1)
    assert "Effacé chez 2 familles sur 2 qui l'avaient reçu." in answer
    for chat in ("papa", "maman"):
        gone = [s.deleted for s in stage.adapter.audio_to(chat)]
        assert gone == [True, False], chat
    assert await stage.svc.ctx.repos.deliveries.failures_by_reason() == {}


async def test_retirer_of_a_recording_inside_a_compiled_digest_says_what_it_cannot_do(
    stage: Stage,
) -> None:
    await class_with(stage, papa="quotidien")
    m1, *_ = await _post(stage, "Groupe 1", "Groupe 2", "Groupe 3", "Groupe 4")
    await stage.publish()
    await plan_at(stage, EVENING)
    await settle(stage)
    assert audio_titles(stage, "papa") == ["Résumé : 4 enregistrements"]

    answer = await _withdraw(stage, m1)
    assert "1 famille l'a reçu dans un résumé regroupant" in answer
    assert "la messagerie ne permet plus" not in answer
    assert not any(s.deleted for s in stage.adapter.audio_to("papa"))


async def test_retirer_happens_whole_or_not_at_all(
    stage: Stage, monkeypatch: pytest.MonkeyPatch
) -> None:
    await class_with(stage, papa="quotidien")
    (m1,) = await _post(stage, "Groupe 1")
    await stage.publish()
    # The last write of /retirer fails, every time it is tried.
    inject_async(monkeypatch, AuditRepo, "record", Fault(locked))
    answer = await _withdraw(stage, m1)
    assert answer.startswith("Je n'ai pas pu traiter ce message")

    repos = stage.svc.ctx.repos
    rec = await repos.recordings.by_message("memory", GROUP, m1)
    assert rec is not None and rec.state == "published"
    counts = await repos.deliveries.counts_by_state()
    assert counts["digest"] == 1 and counts.get("cancelled", 0) == 0


async def test_a_consent_change_holds_back_all_it_names_or_nothing(
    stage: Stage, monkeypatch: pytest.MonkeyPatch
) -> None:
    await class_with(stage, papa="quotidien")  # child "Enfant0", consent noted
    await _post(stage, "Groupe 1 #Enfant0", "Groupe 2 #Enfant0")
    await stage.publish()
    repos = stage.svc.ctx.repos
    assert (await repos.deliveries.counts_by_state())["digest"] == 2
    # Holding back the second recording's deliveries fails, every time.
    inject_async(
        monkeypatch, DeliveryRepo, "hold_open_of_recording_for_consent", Fault(locked, skip=1)
    )
    await stage.say(TEACHER, "/consentement Enfant0 non", chat=GROUP)
    assert stage.adapter.texts_to(GROUP)[-1].startswith("Je n'ai pas pu traiter ce message")
    counts = await repos.deliveries.counts_by_state()
    assert counts["digest"] == 2 and counts["held"] == 0
