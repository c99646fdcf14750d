"""The links a message to a family carries: its private page, one-click
unsubscribe, e-mail confirmation. Built from ``[web] public_url``; the page
address itself comes from whoever holds the family's page token."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bot.service.signing import Signer

# child id -> the family's page URL (None: no page for that child).
PageUrl = Callable[[int], Awaitable[str | None]]

UNSUBSCRIBE = "unsubscribe"


@dataclass
class FamilyLinks:
    public_url: str  # without a trailing "/"
    signer: Signer
    page_url: PageUrl

    async def page(self, child_id: int) -> str | None:
        return await self.page_url(child_id)

    async def recording(self, child_id: int, recording_id: int) -> str | None:
        """The family's page, opened at that recording (the page plays it)."""
        page = await self.page_url(child_id)
        return None if page is None else f"{page}#r{recording_id}"

    async def settings(self, child_id: int) -> str | None:
        page = await self.page_url(child_id)
        return None if page is None else f"{page}#reglages"

    def unsubscribe_token(self, guardian_id: int, address: str) -> str:
        # The id finds the e-mail guardian; the MAC (over its address too)
        # proves the link was ours and dies with the guardian.
        return f"{guardian_id}-{self.signer.mac(UNSUBSCRIBE, str(guardian_id), address)}"

    def unsubscribe(self, guardian_id: int, address: str) -> str:
        return f"{self.public_url}/e/desinscription/{self.unsubscribe_token(guardian_id, address)}"

    def confirm(self, token: str) -> str:
        return f"{self.public_url}/e/confirmer/{token}"

    def invitation(self, code: str) -> str:
        return f"{self.public_url}/i/{code}"


def parse_unsubscribe_token(token: str) -> tuple[int, str] | None:
    head, _, mac = token.partition("-")
    if not head.isdigit() or not mac or len(token) > 80:
        return None
    return int(head), mac
