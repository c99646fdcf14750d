"""Guardians' e-mail addresses from the ONDE export, until an invitation is
used or expires. Nothing but the address and the child it belongs to."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from storage.db import Database
from storage.records import to_db_time


@dataclass(frozen=True)
class EmailContact:
    id: int
    child_id: int
    address: str


class EmailContactRepo:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def add(self, child_id: int, address: str, expires_at: datetime, now: datetime) -> bool:
        """False when this address was already known for this child (its
        expiry is pushed back)."""
        async with self.db.transaction() as tx:
            created = await tx.execute(
                """INSERT INTO email_contacts (child_id, address, expires_at, created_at)
                   VALUES ($1, $2, $3, $4) ON CONFLICT (child_id, address) DO NOTHING""",
                child_id,
                address,
                to_db_time(expires_at),
                to_db_time(now),
            )
            if not created:
                await tx.execute(
                    "UPDATE email_contacts SET expires_at = $1 "
                    "WHERE child_id = $2 AND address = $3 AND expires_at < $1",
                    to_db_time(expires_at),
                    child_id,
                    address,
                )
        return created > 0

    async def of_class(self, class_id: int) -> list[EmailContact]:
        rows = await self.db.fetch(
            """SELECT e.id, e.child_id, e.address FROM email_contacts e
               JOIN children c ON c.id = e.child_id
               WHERE c.class_id = $1 ORDER BY e.address, c.name_key""",
            class_id,
        )
        return [EmailContact(r[0], r[1], r[2]) for r in rows]

    async def invited(self, contact_id: int, expires_at: datetime, now: datetime) -> None:
        await self.db.execute(
            "UPDATE email_contacts SET invited_at = $1, expires_at = $2 WHERE id = $3",
            to_db_time(now),
            to_db_time(expires_at),
            contact_id,
        )

    async def used(self, child_id: int, address: str) -> None:
        """The address is now a subscribed guardian's: the contact goes."""
        await self.db.execute(
            "DELETE FROM email_contacts WHERE child_id = $1 AND address = $2", child_id, address
        )

    async def forget(self, address: str) -> int:
        """An address that asked for nothing more: gone from every child."""
        return await self.db.execute("DELETE FROM email_contacts WHERE address = $1", address)

    async def erase_expired(self, now: datetime) -> int:
        return await self.db.execute(
            "DELETE FROM email_contacts WHERE expires_at <= $1", to_db_time(now)
        )

    async def count_in_class(self, class_id: int) -> int:
        value = await self.db.fetchval(
            """SELECT COUNT(*) FROM email_contacts e JOIN children c ON c.id = e.child_id
               WHERE c.class_id = $1""",
            class_id,
        )
        return int(value)

    async def count(self) -> int:
        return int(await self.db.fetchval("SELECT COUNT(*) FROM email_contacts"))
