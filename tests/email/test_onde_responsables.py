"""The ONDE "responsables" export: only each guardian's address linked to a
child is kept, invitations are e-mailed one per address, and addresses not
used before the invitation ends are erased."""

from __future__ import annotations

from pathlib import Path

import pytest

from adapters.email.devkit import SmtpServer
from bot import admin
from bot.roster import RosterError
from bot.roster_contacts import ContactLink, is_responsables, parse_responsables
from bot.service.email_signup import EmailSignup, Subscribed
from bot.service.retention import Retention
from tests.core.harness import Stage, eventually
from tests.email.kit import URL
from tests.email.test_email_signup import stored_anywhere

ONDE = Path(__file__).resolve().parents[1] / "samples" / "onde"
KLASS = "MS-GS Mme Durand"


def sample(name: str) -> bytes:
    return (ONDE / f"responsables_{name}.csv").read_bytes()


def test_utf8_with_bom_two_guardians_and_two_children_and_a_line_without_email() -> None:
    found = parse_responsables(sample("utf8_bom"))
    durand = [(c.first_name, c.address) for c in found.links if c.class_label == KLASS]
    assert durand == [
        ("Zoé", "claire.martin@example.org"),
        ("Zoé", "paul.martin@example.org"),
        ("Maël", "sophie.bernard@example.org"),
        ("Anaïs", "nadia.dubois@example.org"),
        ("Inès", "nadia.dubois@example.org"),
    ]
    assert found.guardians == 5 and found.without_email == 1
    assert ("Lucas", "PS M. Roux") in found.children


def test_latin1() -> None:
    found = parse_responsables(sample("latin1"))
    assert found.links == (
        ContactLink("Noël", "GS", "elodie.garnier@example.org"),
        ContactLink("Noël", "GS", "theo.garnier@example.org"),
        ContactLink("Zoé", "GS", "rene.lambert@example.org"),
        ContactLink("Léonie", "GS", "rene.lambert@example.org"),
    )
    assert ("Maëlys", "GS") in found.children and found.without_email == 1


def test_variant_header_title_line_numbered_children_and_a_shared_first_name() -> None:
    found = parse_responsables(sample("variante"))
    assert [(c.first_name, c.address) for c in found.links] == [
        ("Jules", "camille.roux@example.org"),
        ("Lou", "camille.roux@example.org"),
        ("Jules", "antoine.roux@example.org"),
        ("Léa M.", "julie.moreau@example.org"),
        ("Léa B.", "karim.blanc@example.org"),
    ]
    assert found.without_email == 1  # a blank cell


def test_a_class_list_is_not_taken_for_the_guardians_export() -> None:
    class_list = "Nom;Prénom élève;Classe\nMARTIN;Zoé;GS\n".encode()
    assert not is_responsables(class_list)
    assert all(is_responsables(sample(n)) for n in ("utf8_bom", "latin1", "variante"))
    with pytest.raises(RosterError):
        parse_responsables(class_list)


@pytest.fixture
async def durand(stage: Stage) -> Stage:
    await admin.invite_teacher(stage.svc.ctx, "École du Lac", KLASS)
    return stage


async def test_import_keeps_only_addresses_then_invitations_go_by_email(
    durand: Stage, smtp: SmtpServer, tmp_path: Path
) -> None:
    ctx = durand.svc.ctx
    csv = tmp_path / "responsables.csv"
    csv.write_bytes(sample("utf8_bom"))
    dry = await admin.import_onde(ctx, csv, KLASS, None, dry_run=True)
    assert dry["format"] == "responsables" and dry["would_add"] == ["Zoé", "Maël", "Anaïs", "Inès"]
    assert await ctx.repos.email_contacts.count() == 0
    done = await admin.import_onde(ctx, csv, KLASS, None, dry_run=False)
    assert done["addresses"] == 4 and done["children_with_address"] == 4
    assert done["without_email"] == 1 and done["new_addresses"] == 5
    assert await ctx.repos.email_contacts.count() == 5
    for never in ("06 00 00 00", "rue des Tilleuls", "MARTIN", "Claire", "Lucas"):
        assert not stored_anywhere(durand.data_dir, never), never

    dry_send = await admin.invitations_email(ctx, KLASS, None, dry_run=True)
    assert dry_send["emails"] == 4 and dry_send["sent"] == 0
    assert smtp.relay.received == []
    sent = await admin.invitations_email(ctx, KLASS, None, dry_run=False)
    assert sent["sent"] == 4 and sent["failed"] == 0
    await eventually(lambda: len(smtp.relay.received) == 4)
    [nadia] = smtp.relay.to("nadia.dubois@example.org")
    assert KLASS in str(nadia.mail["Subject"]) and "École du Lac" in str(nadia.mail["Subject"])
    text = nadia.text()
    assert "pour Anaïs" in text and "pour Inès" in text
    confirm = [u for u in URL.findall(text) if "/e/confirmer/" in u]
    invite = [u for u in URL.findall(text) if "/i/" in u]
    assert len(confirm) == 2 and len(invite) == 2
    # One click subscribes that address for that child, on a daily rhythm.
    result = await EmailSignup(ctx).confirm(confirm[0].rsplit("/", 1)[1])
    assert isinstance(result, Subscribed) and result.child.first_name == "Anaïs"
    guardian = await ctx.repos.families.guardian_by_user("email", "nadia.dubois@example.org")
    assert guardian is not None
    subs = await ctx.repos.families.subscriptions_of_guardian(guardian.id)
    assert [s.frequency for s in subs] == ["quotidien"]
    assert await ctx.repos.email_contacts.count() == 4

    # The others never answered: gone once the invitation has ended.
    await Retention(ctx).sweep()
    assert await ctx.repos.email_contacts.count() == 4
    durand.clock.advance((ctx.settings.invitations.parent_days + 1) * 86400)
    await Retention(ctx).sweep()
    assert await ctx.repos.email_contacts.count() == 0
    assert await ctx.repos.families.guardian_by_user("email", "nadia.dubois@example.org")
