"""What a parent types in a private chat, and what they get back."""

from __future__ import annotations

from tests.core.harness import GROUP, Stage, eventually, sample

TEACHER = "maitresse"


async def _subscribed(stage: Stage) -> None:
    await stage.setup_class(TEACHER)
    await stage.invite_parent(TEACHER, "Lina", "papa")


async def test_subscription_answer_and_frequency(stage: Stage) -> None:
    await _subscribed(stage)
    welcome = stage.adapter.texts_to("papa")[0]
    assert "inscrit(e) pour Lina" in welcome and "MS-GS" in welcome
    await stage.say("papa", "/fréquence")
    question = stage.adapter.sent[-1]
    assert [c.command for c in question.message.choices] == [
        "/frequence immediat",
        "/frequence quotidien",
        "/frequence hebdomadaire",
    ]
    await stage.say("papa", "/FREQUENCE Quotidien")
    assert "une fois par jour" in stage.adapter.texts_to("papa")[-1]
    subs = await stage.svc.ctx.repos.families.subscriptions_of_guardian(1)
    assert [s.frequency for s in subs] == ["quotidien"]


async def test_pause_holds_and_resume_releases(stage: Stage) -> None:
    await _subscribed(stage)
    await stage.say("papa", "/pause")
    await stage.post_audio(TEACHER, sample("loup_groupe3_voice.ogg"), caption="Pendant la pause")
    await stage.publish()
    await stage.idle()
    assert stage.adapter.audio_to("papa") == []
    await stage.say("papa", "/reprendre")
    await eventually(lambda: len(stage.adapter.audio_to("papa")) == 1)


async def test_albums_and_listen_to_a_whole_album(stage: Stage) -> None:
    await _subscribed(stage)
    await stage.post_audio(TEACHER, sample("loup_groupe3_voice.ogg"), caption="Un")
    await stage.post_audio(TEACHER, sample("loup_groupe2.mp3"), caption="Deux")
    await stage.publish()
    await eventually(lambda: len(stage.adapter.audio_to("papa")) == 2)
    await stage.say("papa", "/albums")
    listing = stage.adapter.texts_to("papa")[-1]
    assert "1. Le loup qui voulait changer de couleur (en cours) : 2 enregistrements" in listing
    await stage.say("papa", "/écouter 1")
    whole = stage.adapter.audio_to("papa")[-1].message.audio
    assert whole is not None and "album complet, 2 enregistrements" in whole.title
    parts = [s.message.audio.duration_s for s in stage.adapter.audio_to("papa")[:2]]  # type: ignore[union-attr]
    assert whole.duration_s > sum(parts)  # both clips plus the gap between them
    uploads_before = sum(1 for s in stage.adapter.sent if s.uploaded)
    await stage.say("papa", "/ecouter 1")  # built once: the second time reuses it
    assert sum(1 for s in stage.adapter.sent if s.uploaded) == uploads_before
    await stage.say("papa", "/ecouter 9")
    assert "Quel album" in stage.adapter.texts_to("papa")[-1]


async def test_stop_asks_then_erases(stage: Stage) -> None:
    await _subscribed(stage)
    await stage.say("papa", "/arreter")
    assert "Pour confirmer" in stage.adapter.texts_to("papa")[-1]
    assert await stage.svc.ctx.repos.families.guardian_by_user("memory", "papa") is not None
    await stage.say("papa", "/arrêter oui")
    assert "effacé" in stage.adapter.texts_to("papa")[-1]
    assert await stage.svc.ctx.repos.families.guardian_by_user("memory", "papa") is None
    # Gone means gone: a new recording does not reach them.
    await stage.post_audio(TEACHER, sample("loup_groupe3_voice.ogg"))
    await stage.publish()
    await stage.idle()
    assert stage.adapter.audio_to("papa") == []


async def test_weekly_digest_time_is_stored(stage: Stage) -> None:
    await _subscribed(stage)
    await stage.say(TEACHER, "/resume mardi 17h15", chat=GROUP)
    assert "chaque mardi 17h15" in stage.adapter.texts_to(GROUP)[-1]
    await stage.say(TEACHER, "/resume dimanche", chat=GROUP)
    assert "part le mardi 17h15" in stage.adapter.texts_to(GROUP)[-1]
