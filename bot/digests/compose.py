"""The French message at the head of a digest."""

from __future__ import annotations

from itertools import groupby

from bot.digests.periods import period_day
from bot.service import texts
from storage.records import DigestItem

# Beyond this many recordings, one compiled recording instead of each one.
MAX_SEPARATE = 3


def heading(period_key: str, count: int) -> str:
    new = f"{count} nouvel enregistrement" if count == 1 else f"{count} nouveaux enregistrements"
    day = period_day(period_key)
    if day is not None:
        when = f"{texts.WEEKDAYS[day.weekday()]} {day.day} {texts.MONTHS[day.month - 1]}"
        return f"Le résumé du {when} : {new}."
    if period_key.startswith("weekly:"):
        return f"Le résumé de la semaine : {new}."
    return f"Pendant votre pause : {new}."


def digest_text(period_key: str, items: list[DigestItem], mix_duration_s: float | None) -> str:
    """Albums, titles and durations, then what follows the message."""
    lines = [heading(period_key, len(items))]
    for (class_name, album), group in groupby(items, key=lambda i: (i.class_name, i.album_title)):
        lines.append("")
        lines.append(f"{class_name}, « {album} » :")
        for item in group:
            title = item.title or f"Enregistrement n°{item.position}"
            lines.append(f"• {title} ({texts.duration(item.duration_s)})")
    lines.append("")
    if mix_duration_s is not None:
        lines.append(
            "Ils sont réunis ci-dessous en un seul enregistrement de "
            f"{texts.duration(mix_duration_s)}, dans l'ordre des albums."
        )
    elif len(items) == 1:
        lines.append("Le voici ci-dessous.")
    else:
        lines.append("Les voici ci-dessous.")
    return "\n".join(lines)
