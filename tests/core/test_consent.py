"""Children's voices: the consent rule at every exit, who speaks after
posting, two children with the same first name (memory platform)."""

from __future__ import annotations

from tests.core.digests_kit import audio_titles, digest_texts, paris, plan_at, settle
from tests.core.harness import GROUP, Stage, eventually, sample

TEACHER = "maitresse"
CLIP = "loup_groupe3_voice.ogg"
LOUP = "Le loup qui voulait changer de couleur"


async def _class(stage: Stage) -> None:
    """Lina and Tom, one parent each, no consent recorded yet."""
    await stage.setup_class(TEACHER)
    await stage.invite_parent(TEACHER, "Lina", "papa_lina", consent=None)
    await stage.invite_parent(TEACHER, "Tom", "maman_tom", consent=None)


def last(stage: Stage, chat: str = GROUP) -> str:
    return stage.adapter.texts_to(chat)[-1]


async def test_untagged_voice_note_is_held_then_tagged_by_reply_and_released(
    stage: Stage,
) -> None:
    await _class(stage)
    await stage.say(TEACHER, "/consentement Lina oui", chat=GROUP)
    note = await stage.post_audio(TEACHER, sample(CLIP), kind="voice")
    answer = last(stage)
    assert "Il attend" in answer and "Tom" in answer and "Qui parle ?" in answer
    # The bot's answer offers the children as buttons.
    buttons = stage.adapter.sent[-1].message.choices
    assert [b.label for b in buttons][:2] == ["Lina", "Tom"]
    await stage.publish()
    await settle(stage)
    assert audio_titles(stage, "papa_lina") == audio_titles(stage, "maman_tom") == []
    # The teacher answers the voice note with a tag: only Lina speaks.
    await stage.say(TEACHER, "#Lina", chat=GROUP, reply_to=note)
    assert "parle : Lina" in last(stage) and "Envoi aux familles" in last(stage)
    await stage.publish()
    await eventually(lambda: len(audio_titles(stage, "papa_lina")) == 1)
    await eventually(lambda: len(audio_titles(stage, "maman_tom")) == 1)


async def test_a_button_press_adds_a_child_and_private_needs_one(stage: Stage) -> None:
    await _class(stage)
    await stage.post_audio(TEACHER, sample(CLIP), kind="voice")
    answer_id = stage.adapter.sent[-1].message_id
    await stage.say(TEACHER, "+#Lina", chat=GROUP, reply_to=answer_id)
    await stage.say(TEACHER, "+#Tom", chat=GROUP, reply_to=answer_id)
    assert "parle : Lina et Tom" in last(stage)
    await stage.say(TEACHER, "+#prive", chat=GROUP, reply_to=answer_id)
    assert "un seul enfant" in last(stage)
    await stage.say(TEACHER, "#prive #Tom", chat=GROUP, reply_to=answer_id)
    assert "Tom, pour sa famille seulement" in last(stage)
    assert "l'accord des parents manque pour Tom" in last(stage)


async def test_tags_after_it_went_out_are_refused(stage: Stage) -> None:
    await _class(stage)
    await stage.say(TEACHER, "/consentement tous oui", chat=GROUP)
    assert "2 enfants" in last(stage)
    note = await stage.post_audio(TEACHER, sample(CLIP), kind="voice")
    await stage.publish()
    await eventually(lambda: len(audio_titles(stage, "maman_tom")) == 1)
    await stage.say(TEACHER, "#Lina", chat=GROUP, reply_to=note)
    assert "trop tard" in last(stage)


async def test_the_family_answer_decides_and_any_no_wins(stage: Stage) -> None:
    await _class(stage)
    await stage.say("maman_lina", "hello")  # a stranger first: not subscribed
    await stage.say(TEACHER, "/invitation Lina", chat=GROUP)
    await stage.say(TEACHER, "/consentement tous oui", chat=GROUP)
    # The parent was asked once, with the school's text, and answers no.
    assert any(
        "Acceptez-vous que la voix de Lina" in t for t in stage.adapter.texts_to("papa_lina")
    )
    await stage.say("papa_lina", "/consentement non")
    assert "plus aucun enregistrement où Lina parle" in last(stage, "papa_lina")
    assert "La famille de Lina ne donne pas son accord" in last(stage)
    assert "Cela retient" not in last(stage)  # nothing was published yet
    await stage.post_audio(TEACHER, sample(CLIP), caption="Lina raconte #Lina")
    assert "l'accord des parents manque pour Lina" in last(stage)
    await stage.say(TEACHER, "/enfants", chat=GROUP)
    register = last(stage)
    assert "Lina : accord non (famille)" in register
    assert "Tom : accord oui (enseignant(e))" in register
    await stage.say(TEACHER, "/consentement Lina oui", chat=GROUP)
    assert "sa réponse passe avant la vôtre" in last(stage)
    await stage.say("papa_lina", "/consentement oui")
    assert "1 enregistrement" not in last(stage, "papa_lina")
    await stage.publish()
    await eventually(lambda: len(audio_titles(stage, "papa_lina")) == 1)


async def test_withdrawn_consent_stops_a_waiting_delivery_and_the_teacher_is_told(
    stage: Stage,
) -> None:
    await _class(stage)
    await stage.say(TEACHER, "/consentement tous oui", chat=GROUP)
    stage.clock.set(paris(2026, 11, 24, 23, 0))  # quiet hours: deliveries wait
    await stage.post_audio(TEACHER, sample(CLIP), caption="Tom raconte #Tom")
    await stage.publish()
    await settle(stage)
    assert audio_titles(stage, "papa_lina") == []
    await stage.say("maman_tom", "/consentement non")
    assert "La famille de Tom ne donne pas son accord" in last(stage)
    assert "1 enregistrement" in last(stage)
    stage.clock.set(paris(2026, 11, 25, 8, 0))
    await settle(stage)
    assert audio_titles(stage, "papa_lina") == audio_titles(stage, "maman_tom") == []
    # Consent given again: the held deliveries go.
    await stage.say("maman_tom", "/consentement oui")
    await settle(stage)
    await eventually(lambda: len(audio_titles(stage, "papa_lina")) == 1)


async def test_consent_withdrawn_before_a_weekly_digest_leaves_it_out(stage: Stage) -> None:
    await _class(stage)
    await stage.say(TEACHER, "/consentement tous oui", chat=GROUP)
    await stage.say("papa_lina", "/frequence hebdomadaire")
    stage.clock.set(paris(2026, 11, 24, 10, 0))
    await stage.post_audio(TEACHER, sample(CLIP), caption="Avec Tom #Tom")
    await stage.post_audio(TEACHER, sample(CLIP), caption="Avec Lina #Lina")
    await stage.publish()
    await settle(stage)
    await stage.say(TEACHER, "/consentement Tom non", chat=GROUP)
    assert "Cela retient 1 enregistrement : « Avec Tom »" in last(stage)
    assert await plan_at(stage, paris(2026, 11, 27, 16, 30)) == 1
    await settle(stage)
    assert [t for t in digest_texts(stage, "papa_lina") if "Avec Tom" in t] == []
    assert audio_titles(stage, "papa_lina") == [f"{LOUP} : Avec Lina"]


async def test_paused_backlog_and_album_compilation_respect_consent(stage: Stage) -> None:
    await _class(stage)
    await stage.say(TEACHER, "/consentement tous oui", chat=GROUP)
    await stage.say("papa_lina", "/pause")
    await stage.post_audio(TEACHER, sample(CLIP), caption="Tom #Tom")
    await stage.post_audio(TEACHER, sample(CLIP), caption="Lina #Lina")
    await stage.publish()
    await eventually(lambda: len(audio_titles(stage, "maman_tom")) == 2)
    await stage.say("maman_tom", "/consentement non")
    await stage.say("papa_lina", "/reprendre")
    await settle(stage)
    assert audio_titles(stage, "papa_lina") == [f"{LOUP} : Lina"]
    await stage.say("papa_lina", "/ecouter 1")
    await eventually(lambda: len(audio_titles(stage, "papa_lina")) == 2)
    assert "album complet, 1 enregistrement)" in audio_titles(stage, "papa_lina")[-1]


async def test_two_children_with_the_same_first_name_are_told_apart(stage: Stage) -> None:
    await stage.setup_class(TEACHER)
    await stage.invite_parent(TEACHER, "Léa B.", "papa_lea_b")
    await stage.invite_parent(TEACHER, "Léa M.", "maman_lea_m")
    await stage.say(TEACHER, "/invitation Léa", chat=GROUP)
    assert "plusieurs « Léa »" in last(stage)
    await stage.post_audio(TEACHER, sample(CLIP), caption="Pour toi #prive #Léa")
    assert "Je ne sais pas encore qui parle" in last(stage)
    await stage.post_audio(TEACHER, sample(CLIP), caption="Pour toi #prive #lea_b")
    await stage.publish()
    await eventually(lambda: len(audio_titles(stage, "papa_lea_b")) == 1)
    await settle(stage)
    assert audio_titles(stage, "maman_lea_m") == []
    await stage.say(TEACHER, "/consentement Léa non", chat=GROUP)
    assert "plusieurs « Léa »" in last(stage)


async def test_rename_and_departure(stage: Stage) -> None:
    await _class(stage)
    await stage.say(TEACHER, "/renommer Lina Lina B.", chat=GROUP)
    assert "s'appelle maintenant « Lina B. »" in last(stage)
    await stage.say(TEACHER, "/renommer Tom Lina B.", chat=GROUP)
    assert "Il y a déjà" in last(stage)
    await stage.say(TEACHER, "/depart Tom", chat=GROUP)
    assert "ne fait plus partie de la classe" in last(stage)
    repos = stage.svc.ctx.repos
    names = [c.first_name for c in await repos.families.children_of_class(1)]
    assert names == ["Lina B."]
    assert await repos.families.guardian_by_user("memory", "maman_tom") is None
    await stage.say(TEACHER, "/depart Zoé", chat=GROUP)
    assert "Je ne trouve pas « Zoé »" in last(stage)


async def _refuse_behind_the_service(stage: Stage, child: str) -> None:
    """Another process (or the operator) records a refusal: this process only
    learns it when it asks the rule again at the exit."""
    repos = stage.svc.ctx.repos
    kid = next(c for c in await repos.families.children_of_class(1) if c.first_name == child)
    await repos.families.set_consent(kid.id, False, stage.clock.now())
    stage.svc.ctx.audience.generation.bump()


async def test_every_send_asks_the_rule_again(stage: Stage) -> None:
    await _class(stage)
    await stage.say(TEACHER, "/consentement tous oui", chat=GROUP)
    await stage.say("papa_lina", "/frequence quotidien")
    stage.clock.set(paris(2026, 11, 24, 23, 0))  # quiet hours: the immediate one waits
    await stage.post_audio(TEACHER, sample(CLIP), caption="Tom raconte #Tom")
    await stage.post_audio(TEACHER, sample(CLIP), caption="Lina raconte #Lina")
    await stage.publish()
    await settle(stage)
    await _refuse_behind_the_service(stage, "Tom")
    stage.clock.set(paris(2026, 11, 25, 8, 0))
    await settle(stage)
    assert audio_titles(stage, "maman_tom") == [f"{LOUP} : Lina raconte"]
    assert await plan_at(stage, paris(2026, 11, 25, 18, 0)) == 1
    await settle(stage)
    assert audio_titles(stage, "papa_lina") == [f"{LOUP} : Lina raconte"]
    states = await stage.svc.ctx.repos.db.fetch(
        "SELECT state, hold_reason FROM deliveries WHERE recording_id = 1"
    )
    assert [tuple(r) for r in states] == [("held", "consent"), ("held", "consent")]
