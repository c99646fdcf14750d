"""Families who choose e-mail: an address is subscribed only once it opened
the confirmation link e-mailed to it, and leaves in one click.

The confirmation link carries the invitation and the address sealed with
the service's key: nothing is stored before the click. The unsubscribe link
is recognised by its MAC; a POST to it erases that e-mail guardian.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.i18n import _, is_rtl, speaking, supported
from bot.i18n import language as language_now
from bot.ports import DeliveryError, Link, OutboundMessage
from bot.service.context import Context
from bot.service.erasure import Erasure
from bot.service.invitations import InvitationService
from bot.service.links import UNSUBSCRIBE, FamilyLinks, parse_unsubscribe_token
from storage.records import Child, Class

log = logging.getLogger("petites_voix.email")

PLATFORM = "email"
CONFIRM = "email-confirm"
CONFIRM_VALID = timedelta(days=3)
SEAL_MAX_AGE_S = 366 * 24 * 3600  # the payload's own "x" says until when
_ADDRESS = re.compile(r"^[^@\s<>\"',;]{1,64}@[A-Za-z0-9.-]{1,253}\.[A-Za-z]{2,63}$")


def clean_address(raw: str) -> str | None:
    """The address in one canonical form (lower case), or None if it is not one."""
    address = raw.strip().lower()
    if len(address) > 254 or not _ADDRESS.match(address) or ".." in address:
        return None
    return address


@dataclass(frozen=True)
class Subscribed:
    child: Child
    klass: Class
    already: bool
    language: str | None = None  # what the new e-mail family reads, when told


class EmailSignup:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.invitations = InvitationService(ctx)

    @property
    def links(self) -> FamilyLinks:
        assert self.ctx.links is not None, "[web] is needed for e-mail"
        return self.ctx.links

    def _now_s(self) -> int:
        return int(self.ctx.clock.now().timestamp())

    def confirmation_token(
        self,
        invitation_id: int,
        address: str,
        valid_until: datetime | None = None,
        language: str | None = None,
    ) -> str:
        """Valid ``CONFIRM_VALID`` from now, or until ``valid_until`` (an
        invitation e-mailed to the address: until the invitation ends).
        ``language``: the family's, kept for what it will receive."""
        until = valid_until or self.ctx.clock.now() + CONFIRM_VALID
        payload: dict[str, object] = {"i": invitation_id, "a": address, "x": int(until.timestamp())}
        if language is not None:
            payload["l"] = language
        return self.links.signer.seal(CONFIRM, payload, self._now_s())

    async def ask(self, code: str, raw_address: str, who: str, language: str | None = None) -> str:
        """The family typed an address on its invitation page: e-mail it a
        confirmation link, in ``language`` (the page's) when it is one of
        ours, else French. Returns "sent", or why not ("address", "unknown",
        "expired", "used", "too_many", "not_sent")."""
        address = clean_address(raw_address)
        if address is None:
            return "address"
        if await self.invitations.too_many_wrong("web", who):
            return "too_many"
        found = await self.invitations.lookup("web", who, code)
        if isinstance(found, str):
            return found
        if found.kind != "parent" or found.child_id is None:
            return "unknown"
        child = await self.ctx.repos.families.get_child(found.child_id)
        klass = await self.ctx.repos.schools.get_class(found.class_id)
        if child is None or klass is None:
            return "unknown"
        lang = supported(language)
        url = self.links.confirm(self.confirmation_token(found.id, address, language=lang))
        with speaking(lang):
            text = _(
                "Vous avez demandé à recevoir par e-mail les enregistrements de la classe "
                "{class_name} ({school}), pour {child}. Si ce n'est pas vous, ignorez ce "
                "message : rien ne sera envoyé."
            ).format(class_name=klass.name, school=klass.school_name, child=child.first_name)
            message = OutboundMessage(
                chat_id=address,
                subject=_(
                    "{class_name} : confirmez votre adresse pour recevoir les enregistrements"
                ).format(class_name=klass.name),
                text=(
                    _("Bonjour,")
                    + f"\n\n{text}\n\n"
                    + _("Pour confirmer, ouvrez ce lien (valable 3 jours) :")
                ),
                links=(Link(_("Oui, je veux recevoir les enregistrements"), url),),
                language=language_now(),
                right_to_left=is_rtl(),
            )
        return "sent" if await self._send_now(message) else "not_sent"

    async def _send_now(self, message: OutboundMessage) -> bool:
        """A direct answer to what the family just did (not a recording):
        it goes now or the page says it did not."""
        adapter = self.ctx.adapters.get(PLATFORM)
        if adapter is None:
            return False
        try:
            await adapter.send(message)
        except (DeliveryError, OSError, TimeoutError) as exc:
            log.warning("an e-mail could not be sent (%s)", getattr(exc, "reason", "error"))
            return False
        return True

    async def confirm(self, token: str) -> Subscribed | str:
        """The family opened its confirmation link: subscribe the address.
        Returns why not: "invalid" (forged, damaged or too old), "expired",
        "used", "unknown"."""
        now_s = self._now_s()
        payload = self.links.signer.unseal(CONFIRM, token, now_s, SEAL_MAX_AGE_S)
        if payload is None or not isinstance(payload.get("i"), int):
            return "invalid"
        if not isinstance(payload.get("x"), int) or payload["x"] < now_s:
            return "invalid"
        address = clean_address(str(payload.get("a", "")))
        if address is None:
            return "invalid"
        repos, now = self.ctx.repos, self.ctx.clock.now()
        invitation = await repos.invitations.get(payload["i"])
        if invitation is None or invitation.revoked or invitation.child_id is None:
            return "unknown"
        child = await repos.families.get_child(invitation.child_id)
        klass = await repos.schools.get_class(invitation.class_id)
        if child is None or klass is None:
            return "unknown"
        guardian = await repos.families.guardian_by_user(PLATFORM, address)
        if guardian is not None:
            subs = await repos.families.subscriptions_of_guardian(guardian.id)
            if any(s.child_id == child.id and s.suspended_reason is None for s in subs):
                return Subscribed(child, klass, already=True)
        if invitation.expires_at <= now:
            return "expired"
        if not await repos.invitations.use(invitation.id):
            return "used"
        guardian = await repos.families.upsert_guardian(PLATFORM, address, address, now)
        # The language its invitation page was read in, else its family page's.
        chosen = supported(str(payload.get("l", ""))) or supported(
            await repos.pages.language_of(child.id)
        )
        if chosen is not None and chosen != guardian.language:
            await repos.families.set_language(guardian.id, chosen)
        # By e-mail, one message a day at most unless the family changes it.
        await repos.families.subscribe(guardian.id, child.id, klass.id, now, "quotidien")
        await repos.email_contacts.used(child.id, address)
        await repos.audit.record("parent", "email_confirmed", now, class_id=klass.id)
        return Subscribed(child, klass, already=False, language=chosen)

    async def unsubscribe(self, token: str) -> bool:
        """One-click unsubscribe (RFC 8058): erase this e-mail guardian.
        True when the link was valid (also when it was already used)."""
        parsed = parse_unsubscribe_token(token)
        if parsed is None:
            return False
        guardian_id, mac = parsed
        guardian = await self.ctx.repos.families.get_guardian(guardian_id)
        if guardian is None or guardian.platform != PLATFORM:
            return False
        if not self.links.signer.check(UNSUBSCRIBE, mac, str(guardian.id), guardian.user_id):
            return False
        await Erasure(self.ctx).guardian(guardian.id)
        await self.ctx.repos.email_contacts.forget(guardian.user_id)
        await self.ctx.repos.audit.record(
            "parent", "guardian_erased", self.ctx.clock.now(), detail="email unsubscribe"
        )
        return True

    async def knows_unsubscribe(self, token: str) -> bool:
        """The GET of the link: is it a live one? (Changes nothing.)"""
        parsed = parse_unsubscribe_token(token)
        if parsed is None:
            return False
        guardian = await self.ctx.repos.families.get_guardian(parsed[0])
        return (
            guardian is not None
            and guardian.platform == PLATFORM
            and self.links.signer.check(UNSUBSCRIBE, parsed[1], str(guardian.id), guardian.user_id)
        )
