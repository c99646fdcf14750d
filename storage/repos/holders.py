"""Which process runs each platform account: written by the holder when it
takes the account and every few seconds while it keeps it, read by the
operator's status. The lock is the database's; this is only what it says."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from storage.db import Database
from storage.records import from_db_time, to_db_time


@dataclass(frozen=True)
class AccountHolder:
    account: str
    holder: str  # host:pid
    since: datetime
    seen_at: datetime


class AccountHolderRepo:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def took(self, account: str, holder: str, now: datetime) -> None:
        await self.db.execute(
            """INSERT INTO account_holders (account, holder, since, seen_at)
               VALUES ($1, $2, $3, $3)
               ON CONFLICT (account) DO UPDATE SET holder = excluded.holder,
                 since = excluded.since, seen_at = excluded.seen_at""",
            account,
            holder,
            to_db_time(now),
        )

    async def still(self, account: str, holder: str, now: datetime) -> None:
        await self.db.execute(
            "UPDATE account_holders SET seen_at = $1 WHERE account = $2 AND holder = $3",
            to_db_time(now),
            account,
            holder,
        )

    async def left(self, account: str, holder: str) -> None:
        await self.db.execute(
            "DELETE FROM account_holders WHERE account = $1 AND holder = $2", account, holder
        )

    async def all(self) -> list[AccountHolder]:
        rows = await self.db.fetch(
            "SELECT account, holder, since, seen_at FROM account_holders ORDER BY account"
        )
        holders = []
        for r in rows:
            since, seen = from_db_time(r[2]), from_db_time(r[3])
            assert since is not None and seen is not None
            holders.append(AccountHolder(r[0], r[1], since, seen))
        return holders
