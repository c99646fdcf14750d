"""Listen counts: a family heard a recording on its page, or saw it in its
Matrix chat (read receipt). Counted per recording and child, never with an
address or a browser; the teacher gets counts (/ecoutes), names only when
the operator set ``[privacy] listen_details``."""

from __future__ import annotations

from dataclasses import dataclass

from bot.ports import ReadReceipt
from bot.service.context import Context
from storage.records import Album

LISTENED = "listened"
SEEN = "seen"


@dataclass(frozen=True)
class RecordingListens:
    title: str
    position: int
    audience: int  # families who may hear it and can be reached
    listened: int
    seen: int  # seen in a Matrix chat, not (yet) listened on a page
    names: tuple[str, ...] = ()  # only with listen_details


class ListenCounts:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.audience = ctx.audience

    async def played(self, child_id: int, recording_id: int) -> bool:
        """The family's page played it long enough. False if the family may
        not hear it (nothing is stored then)."""
        rec = await self.ctx.repos.recordings.get(recording_id)
        if rec is None or not await self.audience.may_hear(rec, child_id):
            return False
        await self.ctx.repos.listens.record(rec.id, child_id, LISTENED, self.ctx.clock.now())
        return True

    async def receipt(self, platform: str, event: ReadReceipt) -> int:
        """A guardian read their chat up to a message: the recordings
        delivered there up to it are seen by that guardian's family."""
        repos, now = self.ctx.repos, self.ctx.clock.now()
        guardian = await repos.families.guardian_by_user(platform, event.reader.user_id)
        if guardian is None or guardian.chat_id != event.chat_id:
            return 0
        recordings = await repos.listens.delivered_up_to(platform, event.chat_id, event.message_id)
        if not recordings:
            return 0
        subs = await repos.families.subscriptions_of_guardian(guardian.id)
        counted = 0
        for rec_id in recordings:
            rec = await repos.recordings.get(rec_id)
            if rec is None:
                continue
            for sub in subs:
                if sub.class_id == rec.class_id and await self.audience.may_hear(rec, sub.child_id):
                    counted += await repos.listens.record(rec.id, sub.child_id, SEEN, now)
        return counted

    async def of_album(self, album: Album) -> list[RecordingListens]:
        """Per published recording of the album, in album order."""
        repos = self.ctx.repos
        reachable = {
            s.child_id
            for c in await repos.families.children_of_class(album.class_id)
            for s in await repos.families.subscriptions_of_child(c.id)
        } | await repos.pages.children_with_page(album.class_id)
        details = self.ctx.settings.privacy.listen_details
        lines = []
        for rec in await repos.recordings.published_in_album(album.id):
            audience = {c for c in reachable if await self.audience.may_hear(rec, c)}
            listened = await repos.listens.children(rec.id, LISTENED) & audience
            seen = (await repos.listens.children(rec.id, SEEN) & audience) - listened
            names: tuple[str, ...] = ()
            if details:
                children = [await repos.families.get_child(c) for c in sorted(listened)]
                names = tuple(sorted(c.first_name for c in children if c is not None))
            lines.append(
                RecordingListens(
                    rec.title, rec.position, len(audience), len(listened), len(seen), names
                )
            )
        return lines
