"""E-mail families through the same outbox, digests and failure policy as
the chat platforms, into a real SMTP server on loopback."""

from __future__ import annotations

from adapters.email.devkit import SmtpServer
from tests.core.digests_kit import paris, plan_at
from tests.core.harness import GROUP, Stage, eventually, sample
from tests.email.kit import (
    PUBLIC,
    TEACHER,
    URL,
    new_mails,
    settle,
    subscribe_by_email,
)

CLIP = "loup_groupe3_voice.ogg"
LOUP = "Le loup qui voulait changer de couleur"


async def post(stage: Stage, *titles: str) -> None:
    for title in titles:
        await stage.post_audio(TEACHER, sample(CLIP), caption=title)


async def test_an_email_family_starts_daily_and_gets_one_message_with_links(
    stage: Stage, smtp: SmtpServer
) -> None:
    await subscribe_by_email(stage, smtp, "Lina", "lea@example.org")
    repos = stage.svc.ctx.repos
    guardian = await repos.families.guardian_by_user("email", "lea@example.org")
    assert guardian is not None
    subs = await repos.families.subscriptions_of_guardian(guardian.id)
    assert [s.frequency for s in subs] == ["quotidien"]

    stage.clock.set(paris(2026, 11, 24, 10, 0))
    await post(stage, "Groupe 1", "Groupe 2")
    await stage.publish()
    await settle(stage)
    assert new_mails(smtp, "lea@example.org") == []  # proved idle: nothing due yet

    assert await plan_at(stage, paris(2026, 11, 24, 18, 0)) == 1
    await settle(stage)
    mails = new_mails(smtp, "lea@example.org")
    assert len(mails) == 1
    mail = mails[0].mail
    assert "MS-GS" in str(mail["Subject"]) and "2 nouveaux" in str(mail["Subject"])
    text = mails[0].text()
    assert "Groupe 1" in text and "Groupe 2" in text
    page = await stage.svc.ctx.links.page(subs[0].child_id)  # type: ignore[union-attr]
    assert page is not None
    assert [u for u in URL.findall(text) if u.startswith(page + "#r")] != []
    assert f"{page}#reglages" in text
    # Once per period, whatever the timers do.
    assert await plan_at(stage, paris(2026, 11, 24, 18, 5)) == 0
    await settle(stage)
    assert len(new_mails(smtp, "lea@example.org")) == 1


async def test_immediate_message_headers_and_parts(stage: Stage, smtp: SmtpServer) -> None:
    await subscribe_by_email(stage, smtp, "Lina", "lea@example.org")
    guardian = await stage.svc.ctx.repos.families.guardian_by_user("email", "lea@example.org")
    assert guardian is not None
    await stage.svc.ctx.repos.families.set_frequency(guardian.id, "immediat")
    await post(stage, "La forêt")
    await stage.publish()
    await settle(stage)
    mails = new_mails(smtp, "lea@example.org")
    assert len(mails) == 1
    mail = mails[0].mail
    assert str(mail["Subject"]) == "MS-GS : nouvel enregistrement, « La forêt »"
    assert str(mail["From"]) == "Petites Voix <voix@example.org>"
    unsubscribe = str(mail["List-Unsubscribe"]).strip()  # may be folded
    assert unsubscribe.startswith(f"<{PUBLIC}/e/desinscription/") and unsubscribe.endswith(">")
    assert str(mail["List-Unsubscribe-Post"]) == "List-Unsubscribe=One-Click"
    sent = await stage.svc.ctx.repos.deliveries.sent_of_recording(1)
    email_sent = [d for d in sent if d.platform == "email"]
    assert len(email_sent) == 1
    assert str(mail["Message-ID"]) == f"<pv-delivery-{email_sent[0].id}@example.org>"
    assert email_sent[0].platform_message_id == str(mail["Message-ID"])
    assert mail.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in mail.iter_parts()] == ["text/plain", "text/html"]
    html = mails[0].html()
    assert "<img" not in html and "src=" not in html  # no remote image, no pixel
    assert "#r1" in html and "La forêt" in html
    assert "Bonjour" in mails[0].text() and "MS-GS" in mails[0].text()


async def test_weekly_family_hears_at_the_class_time(stage: Stage, smtp: SmtpServer) -> None:
    await subscribe_by_email(stage, smtp, "Lina", "lea@example.org")
    guardian = await stage.svc.ctx.repos.families.guardian_by_user("email", "lea@example.org")
    assert guardian is not None
    await stage.svc.ctx.repos.families.set_frequency(guardian.id, "hebdomadaire")
    stage.clock.set(paris(2026, 11, 24, 10, 0))  # Tuesday
    await post(stage, "Groupe 1")
    await stage.publish()
    assert await plan_at(stage, paris(2026, 11, 24, 18, 0)) == 0  # not a daily family
    await settle(stage)
    assert new_mails(smtp, "lea@example.org") == []
    assert await plan_at(stage, paris(2026, 11, 27, 16, 30)) == 1  # Friday 16:30
    await settle(stage)
    mails = new_mails(smtp, "lea@example.org")
    assert len(mails) == 1
    assert "semaine" in mails[0].text() and "Groupe 1" in mails[0].text()


async def test_a_550_ends_that_subscription_and_the_teacher_sees_it(
    stage: Stage, smtp: SmtpServer
) -> None:
    await subscribe_by_email(stage, smtp, "Lina", "lea@example.org", "gone@example.org")
    repos = stage.svc.ctx.repos
    for address in ("lea@example.org", "gone@example.org"):
        g = await repos.families.guardian_by_user("email", address)
        assert g is not None
        await repos.families.set_frequency(g.id, "immediat")
    smtp.relay.refuse.add("gone@example.org")
    await post(stage, "Groupe 1")
    await stage.publish()
    await settle(stage)
    assert len(new_mails(smtp, "lea@example.org")) == 1
    gone = await repos.families.guardian_by_user("email", "gone@example.org")
    assert gone is not None
    subs = await repos.families.subscriptions_of_guardian(gone.id)
    assert [s.suspended_reason for s in subs] == ["email_refused_550"]
    failed = await repos.deliveries.failures_by_reason()
    assert failed == {"email_refused_550": 1}
    # Nothing more is tried for that address.
    await post(stage, "Groupe 2")
    await stage.publish()
    await settle(stage)
    assert smtp.relay.rcpt_answers.count("550") == 1
    before = len(stage.adapter.texts_to(TEACHER))
    await stage.say(TEACHER, "/parents", chat=GROUP)
    answer = "\n".join(
        stage.adapter.texts_to(GROUP)[-1:] + stage.adapter.texts_to(TEACHER)[before:]
    )
    assert "gone@example.org" not in answer and "lea@example.org" not in answer
    assert "Lina : 2 parents (2 par e-mail)" in answer
    assert "1 adresse e-mail refusée" in answer


async def test_a_451_is_tried_again_later_and_goes_once(stage: Stage, smtp: SmtpServer) -> None:
    await subscribe_by_email(stage, smtp, "Lina", "lea@example.org")
    g = await stage.svc.ctx.repos.families.guardian_by_user("email", "lea@example.org")
    assert g is not None
    await stage.svc.ctx.repos.families.set_frequency(g.id, "immediat")
    smtp.relay.defer["lea@example.org"] = 1
    await post(stage, "Groupe 1")
    await stage.publish()
    await settle(stage)
    assert new_mails(smtp, "lea@example.org") == []
    [delivery] = [
        d
        for d in await stage.svc.ctx.repos.deliveries.due("email", paris(2027, 1, 1, 0), 10)
        if d.guardian_id == g.id
    ]
    assert delivery.last_error == "smtp_451" and delivery.attempts == 1
    stage.clock.advance(3600)
    await settle(stage)
    await eventually(lambda: len(new_mails(smtp, "lea@example.org")) == 1)
    await settle(stage)
    assert len(new_mails(smtp, "lea@example.org")) == 1
    assert smtp.relay.rcpt_answers.count("451") == 1
