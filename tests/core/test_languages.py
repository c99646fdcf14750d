"""A family in its own language, through the memory platform: chat answers,
buttons, help, captions and digests; the teacher keeps French."""

from __future__ import annotations

from pathlib import Path

import pypdfium2 as pdfium

from adapters.memory import MemoryAdapter
from bot.ports import Capabilities
from tests.core.digests_kit import TEACHER, audio_titles, paris, plan_at, post
from tests.core.harness import GROUP, Stage, eventually

LOUP = "Le loup qui voulait changer de couleur"
FRENCH_WORDS = ("Vous ", "vous ", "enregistrement", "C'est", "Pour ", "résumé")


def no_french_but_names(text: str) -> bool:
    """What the bot wrote has no French sentence left (commands, the
    class's names and the teacher's titles stay as written)."""
    return not any(word in text for word in FRENCH_WORDS)


async def test_portuguese_from_the_app_language_through_the_whole_story(stage: Stage) -> None:
    stage.app_languages["mae"] = "pt-PT"
    await stage.setup_class(TEACHER)
    await stage.invite_parent(TEACHER, "Lina", "mae", consent=None)
    welcome, consent = stage.adapter.sent[-2:]
    assert welcome.message.text.startswith("Feito: está inscrito(a) para Lina, turma «MS-GS»")
    assert "/frequence immediat" in welcome.message.text  # command names stay French
    assert [(c.label, c.command) for c in welcome.message.choices] == [
        ("Continuer en français", "/langue fr")
    ]
    assert "A escola grava as crianças" in consent.message.text
    assert "/consentement oui (sim)" in consent.message.text
    assert [c.label for c in consent.message.choices] == ["Sim, aceito", "Não"]
    guardian = await stage.svc.ctx.repos.families.guardian_by_user("memory", "mae")
    assert guardian is not None and guardian.language == "pt"

    await stage.say("mae", "/consentement oui")
    assert stage.adapter.texts_to("mae")[-1].startswith("Obrigado, anotado")
    await stage.say("mae", "/aide")
    help_text = stage.adapter.texts_to("mae")[-1]
    assert help_text.startswith(
        "As suas definições: inscrito(a) para Lina, gravações recebidas logo que são publicadas."
    )
    assert "\n\nO que me pode pedir:\n" in help_text
    assert "/frequence : immediat (logo)" in help_text and "/langue :" in help_text
    await stage.say("mae", "/frequence quotidien")
    answer = stage.adapter.texts_to("mae")[-1]
    assert answer == "Anotado: vai receber as gravações uma vez por dia, ao fim do dia (às 18:00)."

    await post(stage, "Groupe 1", "")
    await stage.publish()
    assert await plan_at(stage, paris(2026, 11, 24, 18, 0)) == 1
    await eventually(lambda: len(audio_titles(stage, "mae")) == 2)
    digest = stage.adapter.texts_to("mae")[-1]
    assert digest.startswith("O resumo de terça-feira, 24 de novembro: 2 gravações novas.")
    assert f"MS-GS, « {LOUP} »" in digest and "• Groupe 1 (4 s)" in digest
    assert "• Gravação n.º 2" in digest and "Aqui estão, abaixo." in digest
    # The teacher's title stays as written; the bot's own words are Portuguese.
    assert audio_titles(stage, "mae") == [f"{LOUP} : Groupe 1", f"{LOUP} : Gravação n.º 2"]
    # The teacher's side of the same class stays French.
    filed = [t for t in stage.adapter.texts_to(GROUP) if t.startswith("Rangé dans l'album")]
    assert len(filed) == 2 and "(4 s)" in filed[0] and "enregistrement n°2" in filed[1]

    await stage.say("mae", "/langue fr")
    assert stage.adapter.texts_to("mae")[-1].startswith(
        "C'est noté : je vous écris maintenant en français."
    )
    await stage.say("mae", "/pause")
    assert stage.adapter.texts_to("mae")[-1].startswith("En pause")


async def test_arabic_chosen_with_langue_then_erased_with_the_family(stage: Stage) -> None:
    await stage.setup_class(TEACHER)
    await stage.invite_parent(TEACHER, "Tom", "baba")
    assert stage.adapter.texts_to("baba")[0].startswith("C'est fait")  # no app language: French
    await stage.say("baba", "/langue")
    chooser = stage.adapter.sent[-1].message
    assert [c.command for c in chooser.choices] == [
        "/langue fr",
        "/langue ar",
        "/langue en",
        "/langue es",
        "/langue pt",
        "/langue tr",
    ]
    assert "لقراءة رسائلي بالعربية: /langue ar" in chooser.text
    await stage.say("baba", "/langue ar")
    assert stage.adapter.texts_to("baba")[-1].startswith("تم: أكتب لك الآن بالعربية.")

    await stage.say("baba", "/aide")
    help_text = stage.adapter.texts_to("baba")[-1]
    assert help_text.startswith("إعداداتك: مسجَّل لـ Tom")
    assert "ما يمكنك أن تطلبه مني:" in help_text and "/ecouter" in help_text
    assert no_french_but_names(help_text)
    await stage.say("baba", "شكرا")
    assert stage.adapter.texts_to("baba")[-1] == "عفوا! استماعا ممتعا مع العائلة."
    await stage.say("baba", "/frequence")
    question = stage.adapter.sent[-1].message
    assert question.text.startswith("متى تريد أن تصلك التسجيلات؟")
    assert [c.label for c in question.choices] == ["فور النشر", "كل يوم", "كل أسبوع"]
    await stage.say("baba", "/consentement")
    state = stage.adapter.texts_to("baba")[-1]
    assert "تسجّل المدرسة أطفال القسم" in state and "Tom: الموافقة نعم." in state

    await post(stage, "")
    await stage.publish()
    await eventually(lambda: len(audio_titles(stage, "baba")) == 1)
    assert audio_titles(stage, "baba") == [f"{LOUP} : التسجيل رقم 1"]
    await stage.say("baba", "/albums")
    listing = stage.adapter.texts_to("baba")[-1]
    assert listing.startswith("ألبومات القسم:") and f"1. {LOUP} (الحالي) : 1 تسجيل" in listing
    await stage.say("baba", "/ecouter 1")
    await eventually(lambda: len(audio_titles(stage, "baba")) == 2)
    assert audio_titles(stage, "baba")[-1] == f"{LOUP} (الألبوم كاملًا، 1 تسجيل)"
    await stage.say("baba", "/nimporte")
    assert (
        stage.adapter.texts_to("baba")[-1]
        == "لا أعرف الأمر /nimporte. اكتب /aide لترى ما أستطيع فعله."
    )

    # Refusing: the family reads Arabic, the teacher hears of it in French.
    await stage.say("baba", "/consentement non")
    assert stage.adapter.texts_to("baba")[-1].startswith("تم: لن يُرسَل أي تسجيل يتكلم فيه Tom")
    assert stage.adapter.texts_to(GROUP)[-1].startswith("La famille de Tom ne donne pas")

    await stage.say("baba", "/arreter oui")
    assert stage.adapter.texts_to("baba")[-1].startswith("تم: أُلغي تسجيلك")
    assert await stage.svc.ctx.repos.families.guardian_by_user("memory", "baba") is None
    rows = await stage.svc.ctx.repos.db.fetch("SELECT language FROM guardians")
    assert rows == []


async def test_teacher_prints_slips_in_french_and_arabic(stage: Stage) -> None:
    await stage.setup_class(TEACHER)
    await stage.invite_parent(TEACHER, "Lina", consent=None)
    await stage.say(TEACHER, "/invitations xx", chat=GROUP)
    assert "Je ne connais pas la langue « xx »" in stage.adapter.texts_to(GROUP)[-1]
    await stage.say(TEACHER, "/invitations ar", chat=GROUP)
    sent = [s for s in stage.adapter.sent if s.message.document is not None]
    assert len(sent) == 1 and sent[0].message.chat_id == TEACHER
    assert "en français et en arabe" in sent[0].message.text
    doc = pdfium.PdfDocument(stage.adapter.documents[sent[0].message_id])
    text = doc[0].get_textpage().get_text_range()
    assert "Invitation pour les parents de" in text and "دعوة لأولياء أمر" in text
    doc.close()


async def test_where_the_platform_does_not_tell_a_new_family_is_asked_once(
    tmp_path: Path,
) -> None:
    caps = Capabilities(per_chat_interval_s=0.0, command_prefixes=("!", "/"), asks_language=True)
    stage = Stage(tmp_path / "data", adapter=MemoryAdapter(caps=caps))
    await stage.start()
    try:
        await stage.setup_class(TEACHER)
        await stage.invite_parent(TEACHER, "Lina", "anne")
        welcome = stage.adapter.texts_to("anne")[0]
        assert welcome.startswith("C'est fait : vous êtes inscrit(e) pour Lina")
        assert "Dans quelle langue voulez-vous lire mes messages ?" in welcome
        assert "To read my messages in English: !langue en" in welcome
        assert "Mesajlarımı Türkçe okumak için: !langue tr" in welcome
        await stage.say("anne", "!langue en")
        assert stage.adapter.texts_to("anne")[-1].startswith(
            "Noted: I now write to you in English."
        )
        # A second child: the family is known, its language kept, nothing asked again.
        await stage.invite_parent(TEACHER, "Tom", "anne")
        again = stage.adapter.texts_to("anne")[-2:]
        assert again[0].startswith("Done: you are signed up for Tom")
        assert not any("Dans quelle langue" in t for t in again)
    finally:
        await stage.stop()
