"""One repository per aggregate, each given the database handle."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from storage.db import Database
from storage.repos.adapter_status import AdapterStatusRepo
from storage.repos.albums import AlbumRepo
from storage.repos.audit import AuditRepo
from storage.repos.deliveries import DeliveryRepo, MediaCacheRepo
from storage.repos.digests import DigestRepo
from storage.repos.email_contacts import EmailContactRepo
from storage.repos.families import FamilyRepo
from storage.repos.holders import AccountHolderRepo
from storage.repos.invitations import InvitationRepo
from storage.repos.leaving import LeavingRepo
from storage.repos.listens import ListenRepo
from storage.repos.mixes import MixRepo
from storage.repos.pages import FamilyPageRepo
from storage.repos.recordings import RecordingRepo
from storage.repos.schools import SchoolRepo
from storage.repos.staff import StaffRepo
from storage.repos.thanks import ThanksRepo
from storage.repos.year_end import YearEndRepo

__all__ = [
    "AccountHolderRepo",
    "AdapterStatusRepo",
    "AlbumRepo",
    "AuditRepo",
    "DeliveryRepo",
    "DigestRepo",
    "EmailContactRepo",
    "FamilyPageRepo",
    "FamilyRepo",
    "InvitationRepo",
    "LeavingRepo",
    "ListenRepo",
    "MediaCacheRepo",
    "MixRepo",
    "RecordingRepo",
    "Repositories",
    "SchoolRepo",
    "StaffRepo",
    "YearEndRepo",
]


@dataclass(frozen=True)
class Repositories:
    db: Database
    schools: SchoolRepo
    staff: StaffRepo
    families: FamilyRepo
    invitations: InvitationRepo
    albums: AlbumRepo
    recordings: RecordingRepo
    deliveries: DeliveryRepo
    digests: DigestRepo
    media_cache: MediaCacheRepo
    audit: AuditRepo
    adapter_status: AdapterStatusRepo
    mixes: MixRepo
    leaving: LeavingRepo
    email_contacts: EmailContactRepo
    pages: FamilyPageRepo
    listens: ListenRepo
    year_end: YearEndRepo
    holders: AccountHolderRepo
    thanks: ThanksRepo

    @classmethod
    def over(cls, db: Database) -> Repositories:
        return cls(
            db=db,
            schools=SchoolRepo(db),
            staff=StaffRepo(db),
            families=FamilyRepo(db),
            invitations=InvitationRepo(db),
            albums=AlbumRepo(db),
            recordings=RecordingRepo(db),
            deliveries=DeliveryRepo(db),
            digests=DigestRepo(db),
            media_cache=MediaCacheRepo(db),
            audit=AuditRepo(db),
            adapter_status=AdapterStatusRepo(db),
            mixes=MixRepo(db),
            leaving=LeavingRepo(db),
            email_contacts=EmailContactRepo(db),
            pages=FamilyPageRepo(db),
            listens=ListenRepo(db),
            year_end=YearEndRepo(db),
            holders=AccountHolderRepo(db),
            thanks=ThanksRepo(db),
        )

    @asynccontextmanager
    async def unit_of_work(self) -> AsyncIterator[Repositories]:
        """Repositories bound to one transaction, for changes that span rows
        and must happen together (``/retirer``, a parent who blocked the bot):

            async with repos.unit_of_work() as uow:
                await uow.recordings.set_state(...)
                await uow.deliveries.cancel_open_of_recording(...)

        Only database work inside: no platform call, no use of ``repos``."""
        async with self.db.bound() as db:
            yield Repositories.over(db)
