"""The teacher's first minutes and a parent's thanks, on the memory platform
(which offers the "add to group" link as Telegram does)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from adapters.matrix.outbound import render_text
from adapters.telegram.outbound import keyboard
from bot import admin
from bot.config import PrivacySettings
from bot.ports import BotAddedToChat, ChatRef, Choice, Sender
from tests.core.harness import GROUP, Stage, sample, settings_for

TEACHER = "maitresse"
LINK = "https://t.me/petitesvoix_test_bot?startgroup=classe&admin=delete_messages"


async def test_welcome_offers_one_tap_to_add_the_bot_to_the_class_group(stage: Stage) -> None:
    await stage.invite_teacher(TEACHER)
    (welcome,) = [s.message for s in stage.adapter.sent if s.message.chat_id == TEACHER]
    assert "Bienvenue" in welcome.text and "administrateur" in welcome.text
    assert [(c.label, c.url) for c in welcome.choices] == [("Ajouter au groupe de la classe", LINK)]

    # The link adds the bot to a group, which then sends "/start classe".
    await stage.say(TEACHER, "/start classe", chat=GROUP)
    assert any("« MS-GS »" in t for t in stage.adapter.texts_to(GROUP))
    channel = await stage.svc.ctx.repos.staff.channel_for_chat("memory", GROUP)
    assert channel is not None
    await stage.say(TEACHER, "/album Roule galette", chat=GROUP)
    await stage.post_audio(TEACHER, sample("loup_groupe2.mp3"), caption="Groupe 1")
    assert any(t.startswith("Rangé") for t in stage.adapter.texts_to(GROUP))


async def test_start_classe_from_someone_else_binds_nothing(stage: Stage) -> None:
    await admin.invite_teacher(stage.svc.ctx, "École du Lac", "MS-GS")
    await stage.say("inconnu", "/start classe", chat=GROUP)
    assert any("Seuls les enseignants" in t for t in stage.adapter.texts_to(GROUP))
    assert await stage.svc.ctx.repos.staff.channel_for_chat("memory", GROUP) is None


async def test_a_parents_thanks_gets_a_warm_answer_not_the_help(stage: Stage) -> None:
    await stage.setup_class(TEACHER)
    await stage.invite_parent(TEACHER, "Lina", "papa_lina")
    for text in ("Merci !", "merci beaucoup 🙏", "MERCI à la maîtresse", "Thank you!"):
        before = len(stage.adapter.texts_to("papa_lina"))
        await stage.say("papa_lina", text)
        (answer,) = stage.adapter.texts_to("papa_lina")[before:]
        assert answer.startswith("Avec plaisir"), text
    before = len(stage.adapter.texts_to("papa_lina"))
    await stage.say("papa_lina", "Merci, comment on change le rythme ?")
    (answer,) = stage.adapter.texts_to("papa_lina")[before:]
    assert "/frequence" in answer  # a question gets the help
    # Someone who is not a parent here gets nothing of any class.
    await stage.say("inconnu", "merci")
    (answer,) = stage.adapter.texts_to("inconnu")
    assert not answer.startswith("Avec plaisir")


def test_link_buttons_on_telegram_and_matrix() -> None:
    choice = Choice("Ajouter au groupe de la classe", "", url=LINK)
    markup = keyboard((choice,))
    assert markup is not None
    (button,) = markup.inline_keyboard[0]
    assert button.url == LINK and button.callback_data is None
    assert render_text("Bienvenue !", (choice,)).endswith(
        f"Ajouter au groupe de la classe : {LINK}"
    )


async def test_a_parents_help_starts_with_their_settings(stage: Stage) -> None:
    await stage.setup_class(TEACHER)
    await stage.invite_parent(TEACHER, "Lina", "papa_lina")
    await stage.say("papa_lina", "/aide")
    help_text = stage.adapter.texts_to("papa_lina")[-1]
    assert help_text.startswith("Vos réglages : inscrit(e) pour Lina, enregistrements reçus dès")
    assert "/frequence" in help_text
    await stage.say("papa_lina", "/frequence hebdomadaire")
    await stage.say("papa_lina", "/pause")
    await stage.say("papa_lina", "/aide")
    help_text = stage.adapter.texts_to("papa_lina")[-1]
    assert help_text.startswith("Vos réglages : inscrit(e) pour Lina, en pause")
    assert "/reprendre" in help_text


async def test_added_to_a_broadcast_channel_says_it_is_no_group_and_leaves(stage: Stage) -> None:
    await stage.invite_teacher(TEACHER)
    channel = ChatRef("-1007777", is_direct=False, title="Canal de la classe", is_broadcast=True)
    await stage.adapter.push(BotAddedToChat(channel, by=Sender(TEACHER)))
    (said,) = stage.adapter.texts_to("-1007777")
    assert "pas un groupe" in said and "/classe" in said
    assert stage.adapter.left == ["-1007777"]
    assert await stage.svc.ctx.repos.staff.channel_for_chat("memory", "-1007777") is None


async def test_the_schools_own_consent_text_is_what_families_are_asked(tmp_path: Path) -> None:
    stage = Stage(tmp_path / "data")
    text = "L'école des Oliviers enregistre les récits des enfants, pour les familles."
    stage.settings = replace(
        settings_for(stage.data_dir), privacy=PrivacySettings(consent_text=text)
    )
    await stage.start()
    try:
        await stage.setup_class(TEACHER)
        await stage.invite_parent(TEACHER, "Lina", "papa_lina")
        asked = [t for t in stage.adapter.texts_to("papa_lina") if "Acceptez-vous" in t]
        assert len(asked) == 1 and asked[0].startswith(text)
        assert "L'école enregistre les enfants" not in asked[0]  # not the default
    finally:
        await stage.stop()
