"""French and English words for days and clock times, as teachers and
operators type them ("vendredi 16:30", "fri 16h30", "20:00-07:30")."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import time

from bot.text_norm import fold

DAY_NAMES_FR = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")

_DAYS = {
    **{name: i for i, name in enumerate(DAY_NAMES_FR)},
    **{name[:3]: i for i, name in enumerate(DAY_NAMES_FR)},
    **{n: i for i, n in enumerate(("mon", "tue", "wed", "thu", "fri", "sat", "sun"))},
    **{
        n: i
        for i, n in enumerate(
            ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
        )
    },
}

_CLOCK = re.compile(r"^(\d{1,2})\s*[:hH]\s*(\d{2})?$")


@dataclass(frozen=True)
class WeeklySlot:
    weekday: int  # 0 = Monday
    at: time

    def french(self) -> str:
        return f"{DAY_NAMES_FR[self.weekday]} {french_clock(self.at)}"

    def storage(self) -> str:
        return f"{self.weekday} {self.at.strftime('%H:%M')}"

    @classmethod
    def from_storage(cls, value: str) -> WeeklySlot:
        day, hhmm = value.split()
        return cls(int(day), parse_clock(hhmm))


def french_clock(t: time) -> str:
    return f"{t.hour}h{t.minute:02d}"


def parse_clock(text: str) -> time:
    m = _CLOCK.match(text.strip())
    if not m:
        raise ValueError(f"heure attendue sous la forme HH:MM, reçu {text!r}")
    hour, minute = int(m.group(1)), int(m.group(2) or 0)
    if hour > 23 or minute > 59:
        raise ValueError(f"heure impossible : {text!r}")
    return time(hour, minute)


def parse_weekday(text: str) -> int:
    day = _DAYS.get(fold(text).rstrip("."))
    if day is None:
        raise ValueError(f"jour de la semaine attendu (lundi … dimanche), reçu {text!r}")
    return day


def parse_weekly_slot(text: str) -> WeeklySlot:
    parts = text.split()
    if len(parts) != 2:
        raise ValueError(f"attendu « jour HH:MM », par exemple « vendredi 16:30 », reçu {text!r}")
    return WeeklySlot(parse_weekday(parts[0]), parse_clock(parts[1]))


def parse_quiet_hours(text: str) -> tuple[time, time] | None:
    if not text.strip():
        return None
    parts = text.split("-")
    if len(parts) != 2:
        raise ValueError(f"attendu « HH:MM-HH:MM », par exemple « 20:00-07:30 », reçu {text!r}")
    start, end = parse_clock(parts[0]), parse_clock(parts[1])
    if start == end:
        raise ValueError("le début et la fin des heures calmes sont identiques")
    return start, end
