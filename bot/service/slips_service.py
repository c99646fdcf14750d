"""Printable invitation slips for a whole class."""

from __future__ import annotations

import tempfile
from pathlib import Path

from bot.ports import OutboundDocument
from bot.service.context import Context
from bot.service.invitations import InvitationService
from bot.slips import Slip, render_slips_pdf
from storage.records import Class


async def class_slips(
    ctx: Context,
    invitations: InvitationService,
    klass: Class,
    platform: str | None,
    language: str | None = None,
) -> bytes:
    """One fresh parent invitation per child of the class, as a PDF;
    ``language``: each slip in French and in that language."""
    slips = []
    tz = ctx.settings.schedule.timezone
    for child in await ctx.repos.families.children_of_class(klass.id):
        invite = await invitations.create("parent", klass.id, child.id)
        # With [web], the QR opens the invitation page, where every way is offered.
        web_link = invitations.web_link(invite.code)
        link = web_link or (invitations.link(platform, invite.code) if platform else None)
        if link is None:
            link = invitations.any_link(invite.code)
        slips.append(
            Slip(
                child_first_name=child.first_name,
                class_name=klass.name,
                school_name=klass.school_name,
                code=invite.code,
                link=link,
                expires_at=invite.expires_at.astimezone(tz),
                web=web_link is not None,
            )
        )
    # Only the platforms this service has: Matrix's address when configured;
    # Telegram's missing link said plainly rather than hidden.
    matrix = ctx.settings.matrix.user_id if ctx.settings.matrix else None
    telegram_missing = ctx.settings.telegram is not None and any(s.link is None for s in slips)
    return render_slips_pdf(
        slips, matrix_hint=matrix, telegram_missing=telegram_missing, language=language
    )


async def class_slips_pdf(
    ctx: Context,
    invitations: InvitationService,
    klass: Class,
    platform: str,
    language: str | None = None,
) -> OutboundDocument:
    pdf = await class_slips(ctx, invitations, klass, platform, language)
    folder = Path(tempfile.mkdtemp(prefix="pv-slips-"))
    path = folder / "invitations.pdf"
    path.write_bytes(pdf)
    return OutboundDocument(
        path=path, filename=f"invitations-{klass.id}.pdf", mime="application/pdf"
    )
