"""``admin copy-storage``: a stopped SQLite installation moved into
PostgreSQL (and its media into the configured S3 store), and what the
operator changes in the config afterwards."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bot.admin import AdminError
from bot.config import Settings
from bot.config_services import S3Settings
from storage.copy import CopyError, copy_storage
from storage.db import DatabaseUnavailable, is_postgres_url, without_password
from storage.media import LocalMediaStore
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
    # The files first: copying them again is harmless, the tables only once.
    media = await copy_media(settings.data_dir / "media", settings.s3) if settings.s3 else None
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
        "media": media,
    }


async def copy_media(folder: Path, s3: S3Settings) -> dict[str, Any]:
    """Every file of the local media folder into the bucket, under the same
    reference; then each is looked for in the bucket."""
    from storage.s3_media import S3MediaStore, S3Unavailable  # only when configured

    source = LocalMediaStore(folder)
    try:
        target = await S3MediaStore.open(s3)
    except S3Unavailable as exc:
        raise AdminError(f"[storage] media : {exc}") from None
    try:
        refs = [ref async for ref in source.refs()]
        copied = 0
        for ref in refs:
            if await target.size(ref) == await source.size(ref):
                continue  # already there (an earlier copy): the same bytes
            if await target.put_bytes(await source.read(ref)) != ref:
                raise AdminError(f"le fichier media/{ref[:2]}/{ref} est abîmé : la copie s'arrête")
            copied += 1
        found = sum([await target.exists(ref) for ref in refs])
    finally:
        await target.close()
    if found != len(refs):
        raise AdminError(
            f"médias : {found} fichiers trouvés dans le seau sur {len(refs)} : recommencez la copie"
        )
    return {
        "files": len(refs),
        "copied": copied,
        "store": f"s3://{s3.bucket}/{s3.prefix}".rstrip("/"),
    }


def explain(result: dict[str, Any]) -> str:
    """What the operator reads after the copy, in French."""
    tables = result["tables"]
    lines = [
        f"Copie terminée : {len(tables)} tables, {result['rows']} lignes ; "
        "les nombres de lignes sont les mêmes des deux côtés.",
        *(f"  {name} : {count}" for name, count in tables.items()),
        "",
    ]
    media = result.get("media")
    if media:
        lines += [
            f"Médias : {media['files']} fichiers dans {media['store']} "
            f"({media['copied']} copiés, les autres y étaient déjà) ; tous y sont.",
            "",
        ]
    lines += [
        "Pour que le service utilise PostgreSQL, dans le fichier de configuration :",
        "  [storage]",
        f'  data_dir = "{result["data_dir"]}"   # inchangé : '
        + (
            "l'état des messageries y reste ; le dossier media/ n'est plus lu, "
            "gardez-le comme sauvegarde"
            if media
            else "les fichiers audio (media/) et l'état des messageries y restent"
        ),
        f'  database = "{result["database"]}"',
        *(
            [f'  media = "{media["store"]}"   # déjà là : le service lit les médias dans le seau']
            if media
            else []
        ),
        "(ou la variable d'environnement DATABASE_URL, où le mot de passe a sa place),",
        "puis relancez « petites-voix run ». Le fichier SQLite n'est plus utilisé :",
        "gardez-le comme sauvegarde, sans relancer le service dessus.",
    ]
    return "\n".join(lines)
