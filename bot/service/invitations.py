"""Invitations for teachers and families: create, and redeem with /start."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.codes import hash_code, looks_like_code, new_code
from bot.service.context import Context
from storage.records import Invitation

WRONG_CODES_ALLOWED = 5
WRONG_CODES_WINDOW = timedelta(minutes=15)


@dataclass(frozen=True)
class NewInvitation:
    code: str
    expires_at: datetime
    id: int = 0


class InvitationService:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    async def create(self, kind: str, class_id: int, child_id: int | None = None) -> NewInvitation:
        cfg = self.ctx.settings.invitations
        now = self.ctx.clock.now()
        if kind == "parent":
            days, uses = cfg.parent_days, cfg.parent_max_uses
        else:
            days, uses = cfg.teacher_days, 1
        code = new_code()
        expires = now + timedelta(days=days)
        new_id = await self.ctx.repos.invitations.create(
            hash_code(code), kind, class_id, child_id, uses, expires, now
        )
        return NewInvitation(code, expires, new_id)

    def link(self, platform: str, code: str) -> str | None:
        adapter = self.ctx.adapters.get(platform)
        template = adapter.capabilities.invite_link_template if adapter else None
        return template.format(code=code) if template else None

    def web_link(self, code: str) -> str | None:
        """``{public_url}/i/<code>``: where the family chooses how to receive."""
        web = self.ctx.settings.web
        return f"{web.public_url}/i/{code}" if web else None

    def links(self, code: str) -> dict[str, str]:
        return {
            name: link for name in self.ctx.adapters if (link := self.link(name, code)) is not None
        }

    def any_link(self, code: str) -> str | None:
        """A link for a slip: a connected platform's, else (an operator's
        command, connected to nothing) Telegram's from the bot's name in the
        settings (configured, or learnt with getMe by the command line)."""
        found = next(iter(self.links(code).values()), None)
        telegram = self.ctx.settings.telegram
        if found is None and telegram is not None and telegram.username:
            found = f"https://t.me/{telegram.username}?start={code}"
        return found

    async def too_many_wrong(self, platform: str, chat_id: str) -> bool:
        since = self.ctx.clock.now() - WRONG_CODES_WINDOW
        count = await self.ctx.repos.invitations.wrong_codes_since(platform, chat_id, since)
        return count >= WRONG_CODES_ALLOWED

    async def lookup(self, platform: str, chat_id: str, code: str) -> Invitation | str:
        """The invitation, or why not ("format", "unknown", "expired", "used")."""
        now = self.ctx.clock.now()
        invitation = (
            await self.ctx.repos.invitations.find(hash_code(code))
            if looks_like_code(code)
            else None
        )
        if invitation is None or invitation.revoked:
            await self.ctx.repos.invitations.record_wrong_code(platform, chat_id, now)
            return "unknown"
        if invitation.expires_at <= now:
            return "expired"
        if invitation.uses >= invitation.max_uses:
            return "used"
        return invitation
