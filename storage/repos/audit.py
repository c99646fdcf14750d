"""The audit log, and how it forgets an erased person.

Rows say who did what and when. A row naming a child (its first name in
``detail``) or made by a parent (``actor`` "platform:user id") would keep a
trace of someone erased: erasure rewrites those words into a pseudonym drawn
at random for that erasure ("enfant effacé 3fa2c1"), the same in every row
of that person, so that the log still reads as a story without saying who.
The pseudonym is random, not a hash of the identity: nothing in the
database can bring the name back.
"""

from __future__ import annotations

import re
import secrets
from datetime import datetime

from storage.db import Database, Executor
from storage.records import to_db_time


def pseudonym(kind: str) -> str:
    """``kind`` is "enfant" or "parent": "enfant effacé 3fa2c1"."""
    return f"{kind} effacé {secrets.token_hex(3)}"


def _word(text: str) -> re.Pattern[str]:
    """``text`` standing as a word of its own (not inside a longer name or number)."""
    return re.compile(rf"(?<![\w@:]){re.escape(text)}(?![\w])", re.IGNORECASE)


async def _rewrite(
    tx: Executor, rows: list[tuple[int, str, str]], words: list[str], to: str
) -> int:
    patterns = [_word(w) for w in sorted(set(words), key=len, reverse=True) if w]
    changed = 0
    for row_id, actor, detail in rows:
        new_actor, new_detail = actor, detail
        for pattern in patterns:
            new_actor = pattern.sub(to, new_actor)
            new_detail = pattern.sub(to, new_detail)
        if (new_actor, new_detail) != (actor, detail):
            await tx.execute(
                "UPDATE audit_log SET actor = $1, detail = $2 WHERE id = $3",
                new_actor,
                new_detail,
                row_id,
            )
            changed += 1
    return changed


async def forget_child(tx: Executor, class_id: int, first_name: str, alias: str) -> int:
    """Rows of the child's class (or of no class) naming it say ``alias`` instead."""
    # The whole class's rows: a name may be written in another case.
    rows = await tx.fetch(
        "SELECT id, actor, detail FROM audit_log WHERE class_id = $1 OR class_id IS NULL",
        class_id,
    )
    return await _rewrite(tx, [(r[0], r[1], r[2]) for r in rows], [first_name], alias)


async def forget_guardian(
    tx: Executor, platform: str, user_id: str, chat_id: str, alias: str
) -> int:
    """Rows made by the guardian, or naming their user or chat id, say ``alias``."""
    rows = await tx.fetch(
        """SELECT id, actor, detail FROM audit_log
           WHERE actor LIKE $1 OR detail LIKE $1 OR actor LIKE $2 OR detail LIKE $2""",
        f"%{user_id}%",
        f"%{chat_id}%",
    )
    words = [f"{platform}:{user_id}", f"{platform}:{chat_id}", user_id, chat_id]
    return await _rewrite(tx, [(r[0], r[1], r[2]) for r in rows], words, alias)


class AuditRepo:
    """Who did what, when. Callers never pass audio, tokens or codes.

    ``actor`` is "operator", "service", "parent" or "platform:user id";
    ``class_id`` is set whenever the row is about a class, and a child is
    named in ``detail`` by its first name as written: erasure finds it there.
    """

    def __init__(self, db: Database) -> None:
        self.db = db

    async def record(
        self, actor: str, action: str, now: datetime, class_id: int | None = None, detail: str = ""
    ) -> None:
        await self.db.execute(
            "INSERT INTO audit_log (at, actor, action, class_id, detail) "
            "VALUES ($1, $2, $3, $4, $5)",
            to_db_time(now),
            actor,
            action,
            class_id,
            detail,
        )

    async def recent(self, limit: int = 50) -> list[tuple[str, str, str, str]]:
        rows = await self.db.fetch(
            "SELECT at, actor, action, detail FROM audit_log ORDER BY id DESC LIMIT $1", limit
        )
        return [(r[0], r[1], r[2], r[3]) for r in rows]
