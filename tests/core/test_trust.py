"""Invitations, roles, consent, privacy: nobody gets what is not theirs."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest

from bot import admin
from bot.config import RetentionSettings
from bot.service.retention import Retention, expiry_cutoff
from bot.service.year_end import YearEnd
from tests.core.digests_kit import settle
from tests.core.harness import GROUP, Stage, code_in, eventually, sample

TEACHER = "maitresse"
PARIS = __import__("zoneinfo").ZoneInfo("Europe/Paris")


async def _class(stage: Stage, consent: bool | None = True) -> None:
    await stage.setup_class(TEACHER)
    await stage.invite_parent(TEACHER, "Lina", "papa_lina", consent=consent)
    await stage.invite_parent(TEACHER, "Tom", "maman_tom", consent=consent)


async def test_wrong_codes_are_rate_limited_per_chat(stage: Stage) -> None:
    await _class(stage)
    for i in range(5):
        await stage.say("curieux", f"/start faux-code-numero-{i:02d}-xxxxxxxx")
    await stage.say("curieux", "/start encore-un-faux-code-xxxxxxxxxx")
    answers = stage.adapter.texts_to("curieux")
    assert all("Je ne reconnais pas ce code" in a for a in answers[:5])
    assert "Trop de codes erronés" in answers[5]
    # Even a good code waits now: guessing is not worth it.
    await stage.say(TEACHER, "/invitation Zoé", chat=GROUP)
    good = code_in(stage.adapter.texts_to(TEACHER)[-1])
    await stage.say("curieux", f"/start {good}")
    assert "Trop de codes erronés" in stage.adapter.texts_to("curieux")[-1]
    stage.clock.advance(16 * 60)
    await stage.say("curieux", f"/start {good}")
    assert "inscrit(e) pour Zoé" in stage.adapter.texts_to("curieux")[-2]
    assert "Acceptez-vous que la voix de Zoé" in stage.adapter.texts_to("curieux")[-1]


async def test_teacher_invitation_expires_and_serves_once(stage: Stage) -> None:
    result = await admin.invite_teacher(stage.svc.ctx, "École", "PS")
    stage.clock.advance(8 * 86400)
    await stage.say("prof", f"/start {result['code']}")
    assert "expiré" in stage.adapter.texts_to("prof")[-1]
    fresh = await admin.invite_teacher(stage.svc.ctx, "École", "PS")
    await stage.say("prof", f"/start {fresh['code']}")
    await stage.say("intrus", f"/start {fresh['code']}")
    assert "Bienvenue" in stage.adapter.texts_to("prof")[-1]
    assert "déjà servi" in stage.adapter.texts_to("intrus")[-1]


async def test_a_parent_code_serves_four_guardians(stage: Stage) -> None:
    await stage.setup_class(TEACHER)
    await stage.say(TEACHER, "/invitation Lina", chat=GROUP)
    code = code_in(stage.adapter.texts_to(TEACHER)[-1])
    for n in range(5):
        await stage.say(f"parent{n}", f"/start {code}")
    assert "inscrit(e) pour Lina" in stage.adapter.texts_to("parent3")[-2]
    assert "déjà servi" in stage.adapter.texts_to("parent4")[-1]


async def test_revoked_invitation_no_longer_works(stage: Stage) -> None:
    await stage.setup_class(TEACHER)
    await stage.say(TEACHER, "/invitation Lina", chat=GROUP)
    code = code_in(stage.adapter.texts_to(TEACHER)[-1])
    await stage.say(TEACHER, "/révoquer lina", chat=GROUP)
    assert "1 invitation pour la famille" in stage.adapter.texts_to(GROUP)[-1]
    await stage.say("papa", f"/start {code}")
    assert "Je ne reconnais pas ce code" in stage.adapter.texts_to("papa")[-1]


async def test_invitation_codes_go_privately_and_never_to_logs(
    stage: Stage, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    await stage.setup_class(TEACHER)
    await stage.say(TEACHER, "/invitation Lina", chat=GROUP)
    private = stage.adapter.texts_to(TEACHER)[-1]
    code = code_in(private)
    assert f"https://t.me/petitesvoix_test_bot?start={code}" in private
    assert all(code not in t for t in stage.adapter.texts_to(GROUP))
    await stage.say("papa", f"/start {code}")
    assert code not in caplog.text
    stored = await stage.svc.ctx.repos.db.fetch("SELECT code_hash FROM invitations")
    assert all(code not in r[0] for r in stored)


async def test_co_teacher_can_post_and_others_cannot(stage: Stage) -> None:
    await _class(stage)
    await stage.say(TEACHER, "/coenseignant", chat=GROUP)
    code = code_in(stage.adapter.texts_to(TEACHER)[-1])
    await stage.say("atsem", f"/start {code}")
    await stage.post_audio("atsem", sample("loup_groupe3_voice.ogg"), caption="Par l'ATSEM")
    await stage.post_audio("papa_lina", sample("loup_groupe3_voice.ogg"), caption="Par un parent")
    await stage.post_audio("papa_lina", sample("loup_groupe2.mp3"), caption="Encore")
    refusals = [t for t in stage.adapter.texts_to(GROUP) if "Seuls les enseignants" in t]
    assert len(refusals) == 1  # told once, not at every file
    await stage.say("papa_lina", "/album Pirates", chat=GROUP)
    assert "Seuls les enseignants" in stage.adapter.texts_to(GROUP)[-1]
    await stage.publish()
    await eventually(lambda: len(stage.adapter.audio_to("maman_tom")) == 1)
    await stage.idle()
    titles = [s.message.audio.title for s in stage.adapter.audio_to("maman_tom")]  # type: ignore[union-attr]
    assert titles == ["Le loup qui voulait changer de couleur : Par l'ATSEM"]


async def test_no_consent_holds_until_given(stage: Stage) -> None:
    await _class(stage, consent=None)
    await stage.post_audio(TEACHER, sample("loup_groupe3_voice.ogg"), caption="Lina raconte #Lina")
    answer = stage.adapter.texts_to(GROUP)[-1]
    assert "l'accord des parents manque pour Lina" in answer
    await stage.publish()
    await stage.idle()
    assert stage.adapter.audio_to("papa_lina") == []
    await stage.say(TEACHER, "/consentement lina oui", chat=GROUP)
    assert "1 enregistrement en attente repart" in stage.adapter.texts_to(GROUP)[-1]
    await stage.publish()
    await eventually(
        lambda: (
            len(stage.adapter.audio_to("papa_lina"))
            == len(stage.adapter.audio_to("maman_tom"))
            == 1
        )
    )


async def test_consent_withdrawn_before_publication_holds_it(stage: Stage) -> None:
    await _class(stage, consent=None)
    await stage.say(TEACHER, "/consentement Tom oui", chat=GROUP)
    await stage.post_audio(TEACHER, sample("loup_groupe3_voice.ogg"), caption="#Tom")
    await stage.say(TEACHER, "/consentement Tom non", chat=GROUP)
    assert "Cela retient 1 enregistrement : « Tom »" not in stage.adapter.texts_to(GROUP)[-1]
    assert "Cela retient 1 enregistrement : n°1" in stage.adapter.texts_to(GROUP)[-1]
    await stage.publish()
    await stage.idle()
    assert stage.adapter.audio_to("maman_tom") == [] and stage.adapter.audio_to("papa_lina") == []


async def test_private_recording_reaches_only_that_family(stage: Stage) -> None:
    await _class(stage, consent=None)
    await stage.say(TEACHER, "/consentement Lina oui", chat=GROUP)
    await stage.post_audio(
        TEACHER, sample("loup_groupe3_voice.ogg"), caption="Pour toi #prive #Lina"
    )
    await stage.post_audio(TEACHER, sample("loup_groupe3_voice.ogg"), caption="#prive sans prénom")
    assert "Je ne sais pas encore qui parle" in stage.adapter.texts_to(GROUP)[-1]
    await stage.publish()
    await eventually(lambda: len(stage.adapter.audio_to("papa_lina")) == 1)
    await stage.idle()
    assert stage.adapter.audio_to("maman_tom") == []


async def test_strangers_room_invitations_and_groups(stage: Stage) -> None:
    from bot.ports import BotAddedToChat, ChatInvite, ChatRef, Sender

    await stage.setup_class(TEACHER)
    await stage.adapter.push(ChatInvite(ChatRef("!dm", is_direct=True), Sender("quelquun")))
    await stage.adapter.push(ChatInvite(ChatRef("!salon", is_direct=False), Sender("quelquun")))
    await stage.adapter.push(ChatInvite(ChatRef("!classe", is_direct=False), Sender(TEACHER)))
    assert stage.adapter.joined == ["!dm", "!classe"]
    assert stage.adapter.left == ["!salon"]
    await stage.adapter.push(BotAddedToChat(ChatRef("-42", is_direct=False), Sender("inconnu")))
    assert "-42" in stage.adapter.left
    assert "Je quitte ce groupe" in stage.adapter.texts_to("-42")[-1]


def test_retention_cutoff_is_the_end_of_the_school_year() -> None:
    rules = RetentionSettings()
    in_june = datetime(2027, 6, 30, 12, tzinfo=UTC)
    in_august = datetime(2027, 8, 2, 12, tzinfo=UTC)
    assert expiry_cutoff(in_june, rules, PARIS) == datetime(2026, 8, 1, tzinfo=PARIS)
    assert expiry_cutoff(in_august, rules, PARIS) == datetime(2027, 8, 1, tzinfo=PARIS)
    short = RetentionSettings(keep_days=30)
    assert expiry_cutoff(in_june, short, PARIS) == in_june - timedelta(days=30)


async def test_retention_deletes_recordings_files_and_references(stage: Stage) -> None:
    await _class(stage)
    await stage.post_audio(TEACHER, sample("loup_groupe3_voice.ogg"), caption="Juin")
    await stage.publish()
    await eventually(lambda: len(stage.adapter.audio_to("papa_lina")) == 1)
    rec = await stage.svc.ctx.repos.recordings.get(1)
    assert rec is not None and rec.voice_sha is not None
    assert await stage.svc.ctx.media.exists(rec.voice_sha)
    stage.clock.set(datetime(2027, 8, 2, 9, tzinfo=UTC))  # after the end of the school year
    # The year is closing: the sweep keeps its recordings for the keepsakes...
    assert await Retention(stage.svc.ctx).sweep() == 0
    assert await stage.svc.ctx.repos.recordings.get(1) is not None
    year = YearEnd(stage.svc.ctx)
    assert (await year.close(dry_run=False))["state"] == "waiting_for_keepsakes"
    await settle(stage)
    # ...then close-year erases them: original, voice, MP3 and the keepsake's two.
    report = await year.close(dry_run=False)
    assert report["state"] == "closed" and report["erased"]["files"] == 5
    assert await stage.svc.ctx.repos.recordings.get(1) is None
    assert not await stage.svc.ctx.media.exists(rec.voice_sha)
    assert await stage.svc.ctx.repos.media_cache.get(rec.voice_sha, "memory") is None
    status = await admin.status(stage.svc.ctx)
    assert status["recordings"] == 0 and status["deliveries"]["sent"] == 0


async def test_a_parent_who_blocks_then_unblocks_the_bot(stage: Stage) -> None:
    from bot.ports import BotAddedToChat, BotRemovedFromChat, ChatRef, Sender

    await _class(stage)
    await stage.adapter.push(BotRemovedFromChat(ChatRef("papa_lina", is_direct=True)))
    await stage.post_audio(TEACHER, sample("loup_groupe3_voice.ogg"), caption="Bloqué")
    await stage.publish()
    await eventually(lambda: len(stage.adapter.audio_to("maman_tom")) == 1)
    await stage.idle()
    assert stage.adapter.audio_to("papa_lina") == []
    assert stage.adapter.left == []  # a private chat is never "left"
    await stage.adapter.push(
        BotAddedToChat(ChatRef("papa_lina", is_direct=True), Sender("papa_lina"))
    )
    assert "Content de vous revoir" in stage.adapter.texts_to("papa_lina")[-1]
    await stage.post_audio(TEACHER, sample("loup_groupe3_voice.ogg"), caption="De retour")
    await stage.publish()
    await eventually(lambda: len(stage.adapter.audio_to("papa_lina")) == 1)


async def test_operator_exports_then_erases_a_family(stage: Stage) -> None:
    await _class(stage)
    target = admin.FamilyTarget(class_name="MS-GS", child="lina")
    exported = await admin.export_family(stage.svc.ctx, target)
    (guardian,) = exported["guardians"]
    assert guardian["chat_id"] == "papa_lina"
    assert guardian["subscriptions"][0]["child"] == "Lina"
    assert await admin.erase_family(stage.svc.ctx, target) == {
        "erased_guardians": 1,
        "erased_child": True,
    }
    assert await stage.svc.ctx.repos.families.guardian_by_user("memory", "papa_lina") is None
    assert await stage.svc.ctx.repos.families.guardian_by_user("memory", "maman_tom") is not None
    by_user = admin.FamilyTarget(platform="memory", user="maman_tom")
    assert (await admin.erase_family(stage.svc.ctx, by_user))["erased_guardians"] == 1
