"""The message at the head of a digest, in the family's language."""

from __future__ import annotations

from itertools import groupby

from bot.digests.periods import period_day
from bot.i18n import _, ngettext
from bot.service import texts
from storage.records import DigestItem

# Beyond this many recordings, one compiled recording instead of each one.
MAX_SEPARATE = 3


def heading(period_key: str, count: int) -> str:
    new = ngettext(
        "{count} nouvel enregistrement", "{count} nouveaux enregistrements", count
    ).format(count=count)
    day = period_day(period_key)
    if day is not None:
        return _("Le résumé du {day} : {new}.").format(day=texts.day_words(day), new=new)
    if period_key.startswith("weekly:"):
        return _("Le résumé de la semaine : {new}.").format(new=new)
    return _("Pendant votre pause : {new}.").format(new=new)


def digest_text(period_key: str, items: list[DigestItem], mix_duration_s: float | None) -> str:
    """Albums, titles and durations, then what follows the message."""
    lines = [heading(period_key, len(items))]
    for (class_name, album), group in groupby(items, key=lambda i: (i.class_name, i.album_title)):
        lines.append("")
        lines.append(f"{class_name}, « {album} » :")
        for item in group:
            title = item.title or _("Enregistrement n°{position}").format(position=item.position)
            lines.append(f"• {title} ({texts.duration(item.duration_s)})")
    lines.append("")
    if mix_duration_s is not None:
        lines.append(
            _(
                "Ils sont réunis ci-dessous en un seul enregistrement de {duration}, dans "
                "l'ordre des albums."
            ).format(duration=texts.duration(mix_duration_s))
        )
    elif len(items) == 1:
        lines.append(_("Le voici ci-dessous."))
    else:
        lines.append(_("Les voici ci-dessous."))
    return "\n".join(lines)
