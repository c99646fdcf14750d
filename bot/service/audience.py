"""Who may hear a recording: the consent rule applied at every exit.

Every way a recording leaves the service (an immediate delivery, a digest,
an album compilation, a family page, a podcast feed, an e-mail) asks this
module at the moment it sends or shows, never only at publish time. The
rule itself is ``bot/consent.py``; this module fetches its facts.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Collection
from dataclasses import dataclass, field

from bot.consent import ChildConsent, Consent, blocking, decide
from storage.records import Recording
from storage.repos import Repositories

# Another process may change a consent (several processes on one database):
# what this one read is trusted this long at most.
CACHE_S = 2.0


@dataclass
class _ClassConsents:
    generation: int
    read_at: float
    consents: dict[int, ChildConsent]
    states: dict[int, Consent] = field(init=False)
    # The children blocking each set of named children (empty: the class).
    verdicts: dict[tuple[int, ...], list[int]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.states = {child: c.state for child, c in self.consents.items()}


@dataclass
class ConsentGeneration:
    """Bumped by every change of who may hear what made in this process (a
    consent, a family's new link or departure, a withdrawn recording, an
    erased child), so that the next question is answered from the database,
    not from a cache."""

    value: int = 0

    def bump(self) -> None:
        self.value += 1


@dataclass
class Audience:
    repos: Repositories
    generation: ConsentGeneration = field(default_factory=ConsentGeneration)
    _cache: dict[int, _ClassConsents] = field(default_factory=dict)
    _reading: asyncio.Lock = field(default_factory=asyncio.Lock)

    def changed(self) -> None:
        """Who may hear what changed here: every cache asks again."""
        self.generation.bump()

    async def class_consents(self, class_id: int) -> dict[int, ChildConsent]:
        """Every child now in the class, with its consent, who gave it, when."""
        return (await self._snapshot(class_id)).consents

    async def _snapshot(self, class_id: int) -> _ClassConsents:
        fresh = self._fresh(class_id)
        if fresh is not None:
            return fresh
        # One reading at a time: the sends that found the cache stale together
        # share it instead of each reading the whole class.
        async with self._reading:
            fresh = self._fresh(class_id)
            if fresh is not None:
                return fresh
            return await self._read(class_id)

    def _fresh(self, class_id: int) -> _ClassConsents | None:
        known = self._cache.get(class_id)
        if (
            known is not None
            and known.generation == self.generation.value
            and time.monotonic() - known.read_at < CACHE_S
        ):
            return known
        return None

    async def _read(self, class_id: int) -> _ClassConsents:
        now = time.monotonic()
        rows = await self.repos.families.consent_rows(class_id)
        consents = {row.child_id: decide(row) for row in rows}
        if len(self._cache) > 1000:
            self._cache.clear()
        snapshot = _ClassConsents(self.generation.value, now, consents)
        self._cache[class_id] = snapshot
        return snapshot

    async def blocking_children(
        self, rec: Recording, named: Collection[int] | None = None
    ) -> list[int]:
        """Children whose consent holds this recording back (ids): the named
        ones without ``oui``, or for a recording naming nobody, every child of
        the class without ``oui``. ``named``: its tags, when read already."""
        if named is None:
            named = await self.repos.recordings.tagged_children(rec.id)
        snapshot = await self._snapshot(rec.class_id)
        # A fan-out asks the same question for every family: answered once
        # per snapshot of the class's consents, not once per family.
        key = tuple(sorted(set(named)))
        known = snapshot.verdicts.get(key)
        if known is None:
            known = blocking(key, snapshot.states)
            snapshot.verdicts[key] = known
        return list(known)

    async def may_go(self, rec: Recording, named: Collection[int] | None = None) -> bool:
        """The consent rule alone: may this recording's voices leave now?"""
        if rec.is_private and rec.private_child_id is None:
            return False  # its child left the class: nobody may hear it
        return not await self.blocking_children(rec, named)

    async def may_hear(
        self, rec: Recording, child_id: int, named: Collection[int] | None = None
    ) -> bool:
        """May the family of ``child_id`` hear ``rec`` now (published, its
        audience, consent)? ``named``: its tags, when read already."""
        if rec.state != "published":
            return False
        if rec.is_private and rec.private_child_id != child_id:
            return False
        if child_id not in await self.class_consents(rec.class_id):
            return False  # not a child of that class
        return await self.may_go(rec, named)

    async def recordings_for_child(self, child_id: int) -> list[Recording]:
        """What the family of ``child_id`` may hear now, newest album first,
        newest recording first inside an album."""
        child = await self.repos.families.get_child(child_id)
        if child is None:
            return []
        album_at = {a.id: a.position for a in await self.repos.albums.of_class(child.class_id)}
        published = await self.repos.recordings.published_in_class(child.class_id)
        published.sort(key=lambda p: (-album_at.get(p[0].album_id, 0), -p[0].position))
        return [rec for rec, named in published if await self.may_hear(rec, child_id, named)]


def consent_word(consent: ChildConsent) -> str:
    """'oui (famille)', 'non (enseignant(e))', 'pas encore'."""
    if consent.state is Consent.PAS_ENCORE or consent.set_by is None:
        return consent.state.value
    return f"{consent.state.value} ({consent.set_by.value})"
