"""Subscribing by e-mail: nothing is kept before the confirmation link is
opened; one-click unsubscribe erases the e-mail guardian."""

from __future__ import annotations

from pathlib import Path

from adapters.email.devkit import SmtpServer
from bot.service.email_signup import EmailSignup, Subscribed, clean_address
from tests.core.harness import Stage, sample
from tests.email.kit import (
    confirmation_link,
    invitation_code,
    new_mails,
    settle,
    subscribe_by_email,
)


def stored_anywhere(data_dir: Path, text: str) -> bool:
    """In the database file or its write-ahead log."""
    needle = text.encode()
    return any(
        needle in path.read_bytes()
        for path in data_dir.glob("petites-voix.sqlite3*")
        if path.is_file()
    )


async def test_not_subscribed_before_the_click(stage: Stage, smtp: SmtpServer) -> None:
    code = await invitation_code(stage, "Lina")
    link = await confirmation_link(stage, smtp, code, "Lea.Martin@Example.org")
    mail = smtp.relay.to("lea.martin@example.org")[-1]
    assert "MS-GS" in mail.text() and "Lina" in mail.text()
    repos = stage.svc.ctx.repos
    assert await repos.families.guardian_by_user("email", "lea.martin@example.org") is None
    assert not stored_anywhere(stage.data_dir, "lea.martin@example.org")
    assert "lea.martin" not in link  # the address travels sealed
    token = link.rsplit("/", 1)[1]
    signup = EmailSignup(stage.svc.ctx)
    assert await signup.confirm(token[:-3] + "AAA") == "invalid"
    done = await signup.confirm(token)
    assert isinstance(done, Subscribed) and not done.already
    assert done.child.first_name == "Lina"
    guardian = await repos.families.guardian_by_user("email", "lea.martin@example.org")
    assert guardian is not None
    # A second click changes nothing.
    again = await signup.confirm(token)
    assert isinstance(again, Subscribed) and again.already


async def test_the_confirmation_expires(stage: Stage, smtp: SmtpServer) -> None:
    code = await invitation_code(stage, "Lina")
    link = await confirmation_link(stage, smtp, code, "lea@example.org")
    stage.clock.advance(4 * 24 * 3600)
    assert await EmailSignup(stage.svc.ctx).confirm(link.rsplit("/", 1)[1]) == "invalid"
    assert await stage.svc.ctx.repos.families.guardian_by_user("email", "lea@example.org") is None


async def test_bad_addresses_and_codes_are_refused(stage: Stage, smtp: SmtpServer) -> None:
    signup = EmailSignup(stage.svc.ctx)
    code = await invitation_code(stage, "Lina")
    assert await signup.ask(code, "pas une adresse", "c") == "address"
    assert await signup.ask("x" * 32, "lea@example.org", "c") == "unknown"
    assert clean_address(" Lea@Example.ORG ") == "lea@example.org"
    assert clean_address("a@b") is None and clean_address("a b@example.org") is None
    assert smtp.relay.received == []


async def test_two_guardians_each_confirm_their_own(stage: Stage, smtp: SmtpServer) -> None:
    await subscribe_by_email(stage, smtp, "Lina", "maman@example.org", "papa@example.org")
    repos = stage.svc.ctx.repos
    child = await repos.families.find_child(1, "lina")
    assert child is not None
    assert len(await repos.families.guardians_of_child(child.id)) == 2


async def test_one_click_unsubscribe_erases_and_the_look_does_not(
    stage: Stage, smtp: SmtpServer
) -> None:
    await subscribe_by_email(stage, smtp, "Lina", "lea@example.org", "tom@example.org")
    repos = stage.svc.ctx.repos
    for address in ("lea@example.org", "tom@example.org"):
        g = await repos.families.guardian_by_user("email", address)
        assert g is not None
        await repos.families.set_frequency(g.id, "immediat")
    guardian = await repos.families.guardian_by_user("email", "lea@example.org")
    assert guardian is not None
    links = stage.svc.ctx.links
    assert links is not None
    token = links.unsubscribe_token(guardian.id, guardian.chat_id)
    signup = EmailSignup(stage.svc.ctx)
    assert await signup.knows_unsubscribe(token)  # what a GET does: look only
    assert await repos.families.guardian_by_user("email", "lea@example.org") is not None
    assert not await signup.unsubscribe(token.replace("-", "-x", 1))
    assert await signup.unsubscribe(token)
    assert await repos.families.guardian_by_user("email", "lea@example.org") is None
    assert not await signup.knows_unsubscribe(token)
    await stage.post_audio("maitresse", sample("loup_groupe3_voice.ogg"))
    await stage.publish()
    await settle(stage)
    assert len(new_mails(smtp, "tom@example.org")) == 1  # the other one still receives
    assert new_mails(smtp, "lea@example.org") == []
