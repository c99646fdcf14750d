"""`admin backup FILE`: a consistent copy of the SQLite database while the
service runs (SQLite's online backup API: no `sqlite3` program needed)."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

from bot.admin import AdminError
from bot.config import Settings
from bot.service.context import Context


def refuse_postgresql(settings: Settings) -> None:
    """Checked before the database is opened: PostgreSQL has its own tool."""
    if settings.database is not None:
        raise AdminError(
            "la base est sur PostgreSQL : sauvegardez-la avec pg_dump "
            '(pg_dump --format=custom --file=FICHIER "$DATABASE_URL")'
        )


async def backup(ctx: Context, target: Path) -> dict[str, Any]:
    refuse_postgresql(ctx.settings)
    if await asyncio.to_thread(target.exists):
        raise AdminError(f"{target} existe déjà : choisissez un nouveau nom de fichier")
    if not await asyncio.to_thread(target.parent.is_dir):
        raise AdminError(f"dossier introuvable : {target.parent}")
    # Written beside the target, then renamed: a half-written file never
    # carries the final name.
    partial = target.with_name(f".{target.name}.partiel")
    try:
        await ctx.repos.db.backup(partial)
        await asyncio.to_thread(os.chmod, partial, 0o600)  # children's data
        await asyncio.to_thread(os.replace, partial, target)
    finally:
        await asyncio.to_thread(partial.unlink, missing_ok=True)
    await ctx.repos.audit.record("operator", "backup", ctx.clock.now())
    size = (await asyncio.to_thread(target.stat)).st_size
    return {"file": str(target), "bytes": size}
