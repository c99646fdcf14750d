"""Digest periods from wall-clock dates, never from a timer's idea of time.

A period is named by its local date ("daily:2026-11-24") or ISO week
("weekly:2026-W48:"), and its due instant is its slot on that local date. So a
DST change can neither skip a period (a slot in the spring gap resolves to the
first instant after it) nor double one (a slot in the autumn fold is its first
occurrence, and the name is the date either way).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.schedule_words import WeeklySlot


@dataclass(frozen=True)
class Period:
    key: str  # for a weekly period, a prefix completed by the class id
    due_at: datetime  # aware UTC


def wall_clock(day: date, at: time, tz: ZoneInfo) -> datetime:
    """The instant of ``at`` on local ``day``.

    fold=0: in an autumn fold, the first occurrence; in a spring gap, the
    offset before the change applies, which lands just after the gap
    (02:30 on 2026-03-29 in Paris is 03:30 CEST).
    """
    return datetime.combine(day, at, tzinfo=tz).astimezone(UTC)


def latest_daily(now: datetime, at: time, tz: ZoneInfo) -> Period:
    """The most recent daily period whose slot is not in the future."""
    day = now.astimezone(tz).date()
    due = wall_clock(day, at, tz)
    if due > now:
        day -= timedelta(days=1)
        due = wall_clock(day, at, tz)
    return Period(f"daily:{day.isoformat()}", due)


def latest_weekly(now: datetime, slot: WeeklySlot, tz: ZoneInfo) -> Period:
    """The most recent weekly period of ``slot`` whose instant has come."""
    today = now.astimezone(tz).date()
    day = today - timedelta(days=(today.weekday() - slot.weekday) % 7)
    due = wall_clock(day, slot.at, tz)
    if due > now:
        day -= timedelta(days=7)
        due = wall_clock(day, slot.at, tz)
    year, week, _ = day.isocalendar()
    return Period(f"weekly:{year}-W{week:02d}:", due)


def next_daily(now: datetime, at: time, tz: ZoneInfo) -> datetime:
    """The next daily slot after ``now``."""
    day = latest_daily(now, at, tz).due_at.astimezone(tz).date() + timedelta(days=1)
    return wall_clock(day, at, tz)


def next_weekly(now: datetime, slot: WeeklySlot, tz: ZoneInfo) -> datetime:
    """The next weekly slot after ``now``."""
    day = latest_weekly(now, slot, tz).due_at.astimezone(tz).date() + timedelta(days=7)
    return wall_clock(day, slot.at, tz)


def period_day(key: str) -> date | None:
    """The local date a daily period key names."""
    if key.startswith("daily:"):
        return date.fromisoformat(key.removeprefix("daily:"))
    return None
