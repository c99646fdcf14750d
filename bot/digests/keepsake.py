"""What the end-of-year messages say and hold: the announcement (two weeks
ahead, with the deletion date) and a child's keepsake (one recording per
album, exactly what its family may hear at the moment it goes)."""

from __future__ import annotations

from dataclasses import dataclass

from bot.i18n import _, ngettext
from bot.service import texts
from bot.service.context import Context
from bot.service.year_end import last_day
from storage.records import Album, Child, Recording
from storage.repos.year_end import ANNOUNCE_PREFIX, KEEPSAKE_PREFIX


def is_year_end(period_key: str) -> bool:
    return period_key.startswith((ANNOUNCE_PREFIX, KEEPSAKE_PREFIX))


def year_of(period_key: str) -> int:
    return int(period_key.split(":")[1])


def child_of(period_key: str) -> int | None:
    parts = period_key.split(":")
    return int(parts[2]) if parts[0] + ":" == KEEPSAKE_PREFIX else None


def deletion_day(ctx: Context, period_key: str) -> str:
    """The deletion date in the reader's language (call it while speaking it)."""
    return texts.full_day(last_day(year_of(period_key), ctx.settings.retention.school_year_end))


def announcement_text(deletion: str) -> str:
    return _(
        "L'année scolaire se termine. Le {date}, tous les enregistrements de la "
        "classe seront effacés, ainsi que les informations de votre famille.\n"
        "Avant cela, vous recevrez ici le souvenir de l'année de votre enfant : "
        "un enregistrement par album. Pensez à les enregistrer sur votre téléphone "
        "pour les garder."
    ).format(date=deletion)


@dataclass(frozen=True)
class AlbumPart:
    album: Album
    recordings: list[Recording]  # album order

    @property
    def duration_s(self) -> float:
        return sum(r.duration_s or 0.0 for r in self.recordings)


async def keepsake_parts(ctx: Context, child: Child) -> list[AlbumPart]:
    """Every album of the class in order (so that step numbers never shift),
    each with what the child's family may hear of it now."""
    heard = await ctx.audience.recordings_for_child(child.id)
    albums = sorted(await ctx.repos.albums.of_class(child.class_id), key=lambda a: a.position)
    return [
        AlbumPart(
            album,
            sorted(
                (r for r in heard if r.album_id == album.id and r.voice_sha),
                key=lambda r: r.position,
            ),
        )
        for album in albums
    ]


def keepsake_text(child: Child, class_name: str, parts: list[AlbumPart], deletion: str) -> str:
    full = [p for p in parts if p.recordings]
    albums = ngettext("{count} album", "{count} albums", len(full)).format(count=len(full))
    lines = [
        _(
            "Le souvenir de l'année de {child} ({klass}) : {albums}, "
            "un enregistrement par album ci-dessous."
        ).format(child=child.first_name, klass=class_name, albums=albums),
        "",
    ]
    for part in full:
        count = len(part.recordings)
        what = ngettext("{count} enregistrement", "{count} enregistrements", count).format(
            count=count
        )
        lines.append(
            _("• « {album} » : {what}, {duration}").format(
                album=part.album.title, what=what, duration=texts.duration(part.duration_s)
            )
        )
    lines.append("")
    lines.append(
        _("Gardez-les : le {date}, les enregistrements de l'année seront effacés.").format(
            date=deletion
        )
    )
    return "\n".join(lines)


def keepsake_title(child: Child, album: Album) -> str:
    return _("{album} : l'année de {child}").format(album=album.title, child=child.first_name)
