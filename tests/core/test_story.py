"""The whole story through the memory platform: from the operator's
invitation to every parent's chat."""

from __future__ import annotations

from adapters.memory import blocked
from bot import admin
from tests.core.harness import GROUP, Stage, eventually, sample

TEACHER = "maitresse"
PARENTS = ("papa_lina", "maman_lina", "maman_tom")


async def _class_with_families(stage: Stage) -> None:
    await stage.setup_class(TEACHER)
    await stage.invite_parent(TEACHER, "Lina", "papa_lina", "maman_lina")
    await stage.invite_parent(TEACHER, "Tom", "maman_tom")


async def _sent_everywhere(stage: Stage, count: int) -> None:
    async def done() -> bool:
        return all(len(stage.adapter.audio_to(p)) >= count for p in PARENTS)

    await eventually(done)


async def test_teacher_invitation_channel_and_album(stage: Stage) -> None:
    await stage.setup_class(TEACHER)
    welcome = stage.adapter.texts_to(TEACHER)[0]
    assert "Bienvenue" in welcome and "MS-GS" in welcome
    group = stage.adapter.texts_to(GROUP)
    assert any("canal de la classe « MS-GS »" in t for t in group)
    assert any("Le loup qui voulait changer de couleur" in t for t in group)


async def test_three_recordings_filed_in_order_and_delivered_once(stage: Stage) -> None:
    await _class_with_families(stage)
    files = ("loup_groupe1_audacity.wav", "loup_groupe2.mp3", "loup_groupe3_voice.ogg")
    for i, name in enumerate(files, 1):
        await stage.post_audio(TEACHER, sample(name), caption=f"Groupe {i}")
    answers = [t for t in stage.adapter.texts_to(GROUP) if t.startswith("Rangé")]
    assert len(answers) == 3
    assert all("Le loup qui voulait changer de couleur" in a for a in answers)
    assert "annuler" in answers[0]
    await stage.publish()
    await _sent_everywhere(stage, 3)
    for parent in PARENTS:
        titles = [s.message.audio.title for s in stage.adapter.audio_to(parent)]  # type: ignore[union-attr]
        assert titles == [
            f"Le loup qui voulait changer de couleur : Groupe {i}" for i in (1, 2, 3)
        ], parent
    # One upload per recording; every other parent got the cached reference.
    uploads = [s for s in stage.adapter.sent if s.uploaded]
    assert len(uploads) == 3

    async def all_stored() -> bool:  # the rows change once the platform answered
        return (await stage.svc.ctx.repos.deliveries.counts_by_state())["sent"] == 9

    await eventually(all_stored)
    status = await admin.status(stage.svc.ctx)
    assert status["deliveries"]["sent"] == 9
    assert status["recordings"] == 3
    assert status["families"] == 2


async def test_cancel_inside_the_undo_window(stage: Stage) -> None:
    await _class_with_families(stage)
    kept = await stage.post_audio(TEACHER, sample("loup_groupe2.mp3"), caption="Gardé")
    dropped = await stage.post_audio(TEACHER, sample("loup_groupe3_voice.ogg"), caption="Raté")
    await stage.say(TEACHER, "/annuler", chat=GROUP, reply_to=dropped)
    assert any("Annulé : « Raté »" in t for t in stage.adapter.texts_to(GROUP))
    await stage.publish()
    await _sent_everywhere(stage, 1)
    await stage.idle()
    for parent in PARENTS:
        titles = [s.message.audio.title for s in stage.adapter.audio_to(parent)]  # type: ignore[union-attr]
        assert titles == ["Le loup qui voulait changer de couleur : Gardé"]
    assert kept


async def test_withdraw_after_delivery_removes_it_from_parents(stage: Stage) -> None:
    await _class_with_families(stage)
    posted = await stage.post_audio(TEACHER, sample("loup_groupe2.mp3"), caption="À retirer")
    await stage.publish()
    await _sent_everywhere(stage, 1)
    await stage.say(TEACHER, "/retirer", chat=GROUP, reply_to=posted)
    answer = stage.adapter.texts_to(GROUP)[-1]
    assert "Retiré" in answer and "3 familles sur 3" in answer
    assert all(s.deleted for s in stage.adapter.sent if s.message.audio)
    status = await admin.status(stage.svc.ctx)
    assert status["recordings"] == 0


async def test_stranger_gets_nothing(stage: Stage) -> None:
    await _class_with_families(stage)
    await stage.say("inconnu", "/start pas-un-vrai-code-du-tout-123")
    await stage.say("inconnu", "/albums")
    await stage.say("inconnu", "bonjour")
    answers = stage.adapter.texts_to("inconnu")
    assert len(answers) == 3
    assert "Je ne reconnais pas ce code" in answers[0]
    assert all("Le loup" not in a and "MS-GS" not in a for a in answers)
    # A stranger's file in the class group is not filed nor sent.
    await stage.post_audio("inconnu", sample("loup_groupe2.mp3"))
    await stage.publish()
    await stage.idle()
    assert all(not stage.adapter.audio_to(p) for p in PARENTS)
    assert any("Seuls les enseignants" in t for t in stage.adapter.texts_to(GROUP))


async def test_broken_files_get_a_french_answer_and_change_nothing(stage: Stage) -> None:
    await _class_with_families(stage)
    for name in ("empty.wav", "not_audio.mp3"):
        before = len(stage.adapter.texts_to(GROUP))
        await stage.post_audio(TEACHER, sample(name), caption=name)
        answer = stage.adapter.texts_to(GROUP)[before]
        assert "Rien n'a été envoyé aux familles" in answer, name
    await stage.publish()
    await stage.idle()
    assert all(not stage.adapter.audio_to(p) for p in PARENTS)
    status = await admin.status(stage.svc.ctx)
    assert status["deliveries"]["sent"] == 0
    assert status["recordings_by_state"] == {"failed": 2}


async def test_blocked_parent_is_suspended_and_the_teacher_sees_it(stage: Stage) -> None:
    await _class_with_families(stage)
    stage.adapter.failures["maman_tom"] = blocked
    await stage.post_audio(TEACHER, sample("loup_groupe2.mp3"))
    await stage.publish()

    async def settled() -> bool:
        counts = await stage.svc.ctx.repos.deliveries.counts_by_state()
        return counts["sent"] == 2 and counts["failed"] == 1

    await eventually(settled)
    await stage.say(TEACHER, "/parents", chat=GROUP)
    assert "injoignable" in stage.adapter.texts_to(GROUP)[-1]
    status = await admin.status(stage.svc.ctx)
    assert status["failed_by_reason"] == {"blocked": 1}
    assert status["adapters"]["memory"]["last_error"] == "blocked"
    assert status["adapters"]["memory"]["last_sent_at"] is not None
