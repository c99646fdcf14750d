"""Quiet hours: no immediate delivery at night, in the school's time zone."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from bot.config import ScheduleSettings


def in_quiet_hours(local: time, quiet: tuple[time, time]) -> bool:
    start, end = quiet
    if start < end:
        return start <= local < end
    return local >= start or local < end  # crosses midnight, e.g. 20:00-07:30


def next_allowed(moment: datetime, schedule: ScheduleSettings) -> datetime:
    """``moment`` itself, or the end of the quiet hours it falls in."""
    if schedule.quiet_hours is None:
        return moment
    tz = schedule.timezone
    local = moment.astimezone(tz)
    if not in_quiet_hours(local.time(), schedule.quiet_hours):
        return moment
    end = schedule.quiet_hours[1]
    day = local.date() if local.time() < end else local.date() + timedelta(days=1)
    # Built from the wall-clock date: a DST change on that night moves UTC, not 7:30.
    return datetime.combine(day, end, tzinfo=tz).astimezone(UTC)
