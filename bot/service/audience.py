"""Who may hear a recording: the consent rule applied at every exit.

Every way a recording leaves the service (an immediate delivery, a digest,
an album compilation, a family page, a podcast feed, an e-mail) asks this
module, at the moment it sends or shows, never only at publish time.
"""

from __future__ import annotations

from storage.records import Recording
from storage.repos import Repositories


class Audience:
    def __init__(self, repos: Repositories) -> None:
        self.repos = repos

    async def blocking_children(self, rec: Recording) -> list[int]:
        """Children whose missing consent holds this recording back (ids)."""
        named = await self.repos.recordings.tagged_children(rec.id)
        blocking = []
        for child_id in named:
            child = await self.repos.families.get_child(child_id)
            if child is not None and child.consent is not True:
                blocking.append(child_id)
        return blocking

    async def may_go(self, rec: Recording) -> bool:
        """The consent rule alone: may this recording's voices leave now?"""
        return not await self.blocking_children(rec)

    async def may_hear(self, rec: Recording, child_id: int) -> bool:
        """May the family of ``child_id`` hear ``rec`` now (published, its
        audience, consent)?"""
        if rec.state != "published":
            return False
        if rec.is_private and rec.private_child_id != child_id:
            return False
        child = await self.repos.families.get_child(child_id)
        if child is None or child.class_id != rec.class_id:
            return False
        return await self.may_go(rec)

    async def recordings_for_child(self, child_id: int) -> list[Recording]:
        """What the family of ``child_id`` may hear now, newest album first,
        newest recording first inside an album."""
        child = await self.repos.families.get_child(child_id)
        if child is None:
            return []
        heard: list[Recording] = []
        albums = sorted(await self.repos.albums.of_class(child.class_id), key=lambda a: -a.position)
        for album in albums:
            recordings = await self.repos.recordings.published_in_album(album.id)
            for rec in sorted(recordings, key=lambda r: -r.position):
                if await self.may_hear(rec, child_id):
                    heard.append(rec)
        return heard
