"""Erasing a parent or a child, whoever asks: the parent (``/arreter``), the
operator (``admin erase-family``), the teacher (``/depart``) or the
retention sweep. The database forgets them in one transaction each (see
``FamilyRepo.erase_guardian`` and ``FamilyRepo.erase_child``); this module
finishes the job outside it: files of private recordings, and the private
chat the bot leaves where the platform allows it (a Matrix room).
"""

from __future__ import annotations

import logging

from bot.service.context import Context
from storage.records import Guardian
from storage.repos.families import ErasedChild

log = logging.getLogger("petites_voix.erasure")


class Erasure:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    async def guardian(self, guardian_id: int, *, leave_chat: bool = True) -> Guardian | None:
        """Erase a parent. ``leave_chat=False`` when the caller still answers
        in that chat: it then calls :meth:`leave_chat` itself."""
        erased = await self.ctx.repos.families.erase_guardian(guardian_id)
        if erased is not None and leave_chat:
            await self.leave_chat(erased)
        return erased

    async def child(self, child_id: int) -> ErasedChild | None:
        """Erase a child completely (``/depart``, an erasure request): its
        name, consent, invitations, tags, private recordings (and their
        files), audit mentions; guardians left with no subscription go too."""
        repos = self.ctx.repos
        erased = await repos.families.erase_child(child_id)
        if erased is None:
            return None
        self.ctx.audience.changed()
        await self.drop_files(erased.file_shas)
        for guardian_id in erased.guardian_ids:
            if not await repos.families.subscriptions_of_guardian(guardian_id):
                await self.guardian(guardian_id)
        return erased

    async def orphans(self) -> int:
        """Erase every guardian left without any subscription."""
        orphans = await self.ctx.repos.families.guardians_without_subscription()
        for guardian in orphans:
            await self.guardian(guardian.id)
        return len(orphans)

    async def drop_files(self, shas: frozenset[str] | set[str]) -> int:
        """Delete the files no row uses any more, and the platforms'
        references to them; returns how many went."""
        repos, removed = self.ctx.repos, 0
        for sha in shas:
            if not await repos.recordings.file_in_use(sha):
                await repos.media_cache.drop(sha)
                await self.ctx.media.delete(sha)
                removed += 1
        return removed

    async def leave_chat(self, guardian: Guardian) -> None:
        """Leave an erased parent's private chat where the platform has one to
        leave; without a connection (an operator command), the running
        service leaves it later (:meth:`leave_pending`)."""
        adapter = self.ctx.adapters.get(guardian.platform)
        if adapter is not None and not adapter.capabilities.leaves_direct_chats:
            return
        if adapter is not None:
            try:
                await adapter.leave(guardian.chat_id)
                return
            except Exception as exc:
                log.warning("leaving an erased parent's chat failed: %s", type(exc).__name__)
        await self.ctx.repos.leaving.add(guardian.platform, guardian.chat_id)

    async def leave_pending(self) -> int:
        """Leave the chats an erasure could not leave at once."""
        left = 0
        for platform, adapter in self.ctx.own_adapters().items():
            for chat_id in await self.ctx.repos.leaving.of_platform(platform):
                if not adapter.capabilities.leaves_direct_chats:
                    await self.ctx.repos.leaving.done(platform, chat_id)
                    continue
                try:
                    await adapter.leave(chat_id)
                except Exception as exc:
                    log.warning("leaving a chat failed: %s; trying later", type(exc).__name__)
                    continue
                await self.ctx.repos.leaving.done(platform, chat_id)
                left += 1
        return left
