"""E-mails in the family's language: the confirmation in the language the
invitation page was read in, which is then kept for the family; digests
and single deliveries in the guardian's stored language, Arabic right to
left. Through a real SMTP server on loopback."""

from __future__ import annotations

import re

from adapters.email.devkit import Received, SmtpServer
from bot.service.email_signup import EmailSignup, Subscribed
from tests.core.digests_kit import paris, plan_at
from tests.core.harness import Stage, eventually, sample
from tests.email.kit import TEACHER, URL, invitation_code, new_mails, settle

CLIP = "loup_groupe3_voice.ogg"
# French words of the letters' own sentences (not of what the teacher wrote).
FRENCH = re.compile(
    r"\b(Bonjour|enregistrements?|classe|réglages|recevoir|famille|résumé|pause|"
    r"confirmez|ouvrez|valable|publié|écoute)\b",
    re.IGNORECASE,
)


async def subscribe_in(stage: Stage, smtp: SmtpServer, address: str, language: str) -> Received:
    """Through the invitation page's form read in ``language``; returns the
    confirmation e-mail."""
    code = await invitation_code(stage, "Lina")
    signup = EmailSignup(stage.svc.ctx)
    assert await signup.ask(code, address, "test-client", language=language) == "sent"
    await eventually(lambda: len(smtp.relay.to(address)) == 1)
    [confirmation] = smtp.relay.to(address)
    [link] = [u for u in URL.findall(confirmation.text()) if "/e/confirmer/" in u]
    assert isinstance(await signup.confirm(link.rsplit("/", 1)[1]), Subscribed)
    return confirmation


def teacher_words_removed(text: str) -> str:
    for written in ("Le loup qui voulait changer de couleur", "Groupe 1", "Groupe 2", "Lina"):
        text = text.replace(written, "")
    return text


def check_no_french_left(*texts: str) -> None:
    for text in texts:
        rest = teacher_words_removed(text)
        assert not FRENCH.search(rest), rest
        assert "{" not in rest and "}" not in rest, rest  # every placeholder filled


async def digest_to(stage: Stage, smtp: SmtpServer, address: str) -> Received:
    stage.clock.set(paris(2026, 11, 24, 10, 0))
    for title in ("Groupe 1", "Groupe 2"):
        await stage.post_audio(TEACHER, sample(CLIP), caption=title)
    await stage.publish()
    await settle(stage)
    assert new_mails(smtp, address) == []  # proved idle: daily, nothing due before 18:00
    assert await plan_at(stage, paris(2026, 11, 24, 18, 0)) == 1
    await settle(stage)
    [mail] = new_mails(smtp, address)
    return mail


async def test_a_portuguese_family_reads_its_e_mails_in_portuguese(
    stage: Stage, smtp: SmtpServer
) -> None:
    address = "familia@example.org"
    confirmation = await subscribe_in(stage, smtp, address, "pt")
    assert "Olá" in confirmation.text() and "gravações" in str(confirmation.mail["Subject"])
    assert 'lang="pt"' in confirmation.html()
    check_no_french_left(str(confirmation.mail["Subject"]), confirmation.text())
    guardian = await stage.svc.ctx.repos.families.guardian_by_user("email", address)
    assert guardian is not None and guardian.language == "pt"

    mail = await digest_to(stage, smtp, address)
    subject, text, html = str(mail.mail["Subject"]), mail.text(), mail.html()
    assert subject == "MS-GS: 2 novas gravações"
    assert "Olá," in text and "Pode ouvi-las na página da sua família:" in text
    assert "Groupe 1" in text and "Groupe 2" in text and "/f/" in text
    assert "As suas definições (frequência, pausa)" in text
    assert "Deixar de receber estas mensagens" in html
    assert 'lang="pt" dir="ltr"' in html
    check_no_french_left(subject, text, html)


async def test_an_arabic_family_gets_right_to_left_e_mails(stage: Stage, smtp: SmtpServer) -> None:
    address = "usra@example.org"
    confirmation = await subscribe_in(stage, smtp, address, "ar")
    assert 'dir="rtl"' in confirmation.html()
    guardian = await stage.svc.ctx.repos.families.guardian_by_user("email", address)
    assert guardian is not None
    await stage.svc.ctx.repos.families.set_frequency(guardian.id, "immediat")
    await stage.post_audio(TEACHER, sample(CLIP), caption="Groupe 1")
    await stage.publish()
    await settle(stage)
    [mail] = new_mails(smtp, address)
    html = mail.html()
    assert '<html lang="ar" dir="rtl">' in html and '<body dir="rtl"' in html
    assert str(mail.mail["Subject"]) == "MS-GS: تسجيل جديد، «Groupe 1»"
    assert "مرحبًا،" in mail.text() and "إعداداتكم" in mail.text()
    check_no_french_left(str(mail.mail["Subject"]), mail.text(), html)


async def test_without_a_language_the_confirmation_and_letters_stay_french(
    stage: Stage, smtp: SmtpServer
) -> None:
    address = "lea@example.org"
    confirmation = await subscribe_in(stage, smtp, address, "xx")  # not one of ours
    assert str(confirmation.mail["Subject"]).startswith("MS-GS : confirmez votre adresse")
    assert 'lang="fr" dir="ltr"' in confirmation.html()
    guardian = await stage.svc.ctx.repos.families.guardian_by_user("email", address)
    assert guardian is not None and guardian.language == "fr"
    mail = await digest_to(stage, smtp, address)
    assert str(mail.mail["Subject"]) == "MS-GS : 2 nouveaux enregistrements"
    assert "Vos réglages (fréquence, pause)" in mail.text()
