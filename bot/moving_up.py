"""``admin copy-storage``: a stopped SQLite installation moved into
PostgreSQL, and what the operator changes in the config afterwards."""

from __future__ import annotations

from typing import Any

from bot.admin import AdminError
from bot.config import Settings
from storage.copy import CopyError, copy_storage
from storage.db import DatabaseUnavailable, is_postgres_url, without_password
from storage.postgres import PostgresDatabase
from storage.sqlite import SqliteDatabase

SQLITE_FILE = "petites-voix.sqlite3"


async def copy_to_postgres(settings: Settings, url: str) -> dict[str, Any]:
    if settings.database:
        raise AdminError("la configuration désigne déjà une base PostgreSQL : rien à copier")
    if not is_postgres_url(url):
        raise AdminError("--to : une URL postgresql://... est attendue")
    path = settings.data_dir / SQLITE_FILE
    if not path.exists():
        raise AdminError(f"aucune base SQLite à copier dans {settings.data_dir}")
    source = await SqliteDatabase.connect(path)
    try:
        try:
            target = await PostgresDatabase.connect(url, max_size=2, wait_s=15)
        except DatabaseUnavailable as exc:
            raise AdminError(str(exc)) from None
        try:
            copies = await copy_storage(source, target)
        except CopyError as exc:
            raise AdminError(str(exc)) from None
        finally:
            await target.close()
    finally:
        await source.close()
    return {
        "tables": {c.table: c.copied for c in copies},
        "rows": sum(c.copied for c in copies),
        "database": without_password(url),
        "data_dir": str(settings.data_dir),
    }


def explain(result: dict[str, Any]) -> str:
    """What the operator reads after the copy, in French."""
    tables = result["tables"]
    lines = [
        f"Copie terminée : {len(tables)} tables, {result['rows']} lignes ; "
        "les nombres de lignes sont les mêmes des deux côtés.",
        *(f"  {name} : {count}" for name, count in tables.items()),
        "",
        "Pour que le service utilise PostgreSQL, dans le fichier de configuration :",
        "  [storage]",
        f'  data_dir = "{result["data_dir"]}"   # inchangé : les fichiers audio (media/) '
        "et l'état des messageries y restent",
        f'  database = "{result["database"]}"',
        "(ou la variable d'environnement DATABASE_URL, où le mot de passe a sa place),",
        "puis relancez « petites-voix run ». Le fichier SQLite n'est plus utilisé :",
        "gardez-le comme sauvegarde, sans relancer le service dessus.",
    ]
    return "\n".join(lines)
