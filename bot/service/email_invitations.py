"""`admin invitations --email`: each family whose address came with the ONDE
"responsables" export gets its invitation by e-mail, one message per address
(all its children of the class in it), in French, naming school and class.
An address not used before the invitation ends is erased by retention."""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass

from bot.ports import DeliveryError, Link, OutboundMessage
from bot.service.context import Context
from bot.service.email_signup import PLATFORM, EmailSignup
from bot.service.invitations import InvitationService, NewInvitation
from storage.records import Class
from storage.repos.email_contacts import EmailContact

log = logging.getLogger("petites_voix.email")


@dataclass(frozen=True)
class EmailedInvitations:
    emails: int
    sent: int
    failed: int
    children: int


async def email_invitations(ctx: Context, klass: Class, dry_run: bool) -> EmailedInvitations:
    contacts = await ctx.repos.email_contacts.of_class(klass.id)
    by_address: dict[str, list[EmailContact]] = defaultdict(list)
    for contact in contacts:
        by_address[contact.address].append(contact)
    children = {c.child_id for c in contacts}
    if dry_run:
        return EmailedInvitations(len(by_address), 0, 0, len(children))
    adapter = ctx.adapters.get(PLATFORM)
    assert adapter is not None and ctx.links is not None
    invitations = InvitationService(ctx)
    signup = EmailSignup(ctx)
    codes: dict[int, NewInvitation] = {}
    for child_id in sorted(children):
        codes[child_id] = await invitations.create("parent", klass.id, child_id)
    names = {c.id: c.first_name for c in await ctx.repos.families.children_of_class(klass.id)}
    sent = failed = 0
    for address, mine in by_address.items():
        links: list[Link] = []
        for contact in mine:
            invite = codes[contact.child_id]
            name = names.get(contact.child_id, "")
            token = signup.confirmation_token(invite.id, address, invite.expires_at)
            links.append(Link(f"Recevoir par e-mail, pour {name}", ctx.links.confirm(token)))
            links.append(
                Link(
                    f"Choisir une autre façon (Telegram, Element, page web), pour {name}",
                    ctx.links.invitation(invite.code),
                )
            )
        message = OutboundMessage(
            chat_id=address,
            subject=(
                f"{klass.name} ({klass.school_name}) : écoutez les enregistrements de la classe"
            ),
            text=(
                "Bonjour,\n\n"
                f"Dans la classe {klass.name} de l'école {klass.school_name}, les enfants "
                "racontent les albums lus en classe et l'enseignant(e) les enregistre. "
                "Petites Voix vous envoie ces enregistrements, pour les écouter à la maison "
                "et en parler avec votre enfant.\n\n"
                "Pour les recevoir à cette adresse, un clic suffit (au plus un message par "
                "jour). Sans réponse de votre part, votre adresse sera effacée à la fin de "
                "l'invitation."
            ),
            links=tuple(links),
        )
        try:
            await adapter.send(message)
        except (DeliveryError, OSError, TimeoutError) as exc:
            failed += 1
            log.warning("an invitation e-mail was not sent (%s)", getattr(exc, "reason", "error"))
            continue
        sent += 1
        now = ctx.clock.now()
        for contact in mine:
            await ctx.repos.email_contacts.invited(
                contact.id, codes[contact.child_id].expires_at, now
            )
    await ctx.repos.audit.record(
        "operator",
        "email_invitations",
        ctx.clock.now(),
        class_id=klass.id,
        detail=f"{sent} sent, {failed} failed",
    )
    return EmailedInvitations(len(by_address), sent, failed, len(children))
