"""The words under a recording a family receives: its title, the class, the
day it was recorded, who speaks in it, and whether it is for that family
alone. In the family's language (the caller sets it with ``speaking``).

A private recording never names a child other than the one it is for: the
names are filtered here, whatever the tags say.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from babel.lists import format_list

from bot.children import child_key
from bot.i18n import _, language
from bot.service import texts
from bot.service.context import Context
from storage.records import Recording


def caption(title: str, class_name: str, day: date, speakers: Sequence[str], private: bool) -> str:
    """« Le loup : Groupe 2 / MS-GS, mardi 24 novembre / On entend Lina et Tom. »"""
    day_text = texts.day_words(day)
    lines = [title]
    if class_name:
        lines.append(_("{class_name}, {day}").format(class_name=class_name, day=day_text))
    else:
        lines.append(day_text)
    if speakers:
        names = format_list(list(speakers), locale=language())
        lines.append(_("On entend {names}.").format(names=names))
    if private:
        lines.append(_("Enregistrement pour votre famille seulement."))
    return "\n".join(line for line in lines if line)


async def speakers_of(ctx: Context, rec: Recording, named: Sequence[int]) -> list[str]:
    """The first names of the children tagged in ``rec``; for a private
    recording, only the child it is for (never a classmate's name)."""
    ids = [i for i in dict.fromkeys(named) if not rec.is_private or i == rec.private_child_id]
    names = []
    for child_id in ids:
        child = await ctx.repos.families.get_child(child_id)
        if child is not None:
            names.append(child.first_name)
    return sorted(names, key=child_key)  # the database keeps no order of the tags


async def recording_caption(
    ctx: Context, rec: Recording, title: str, class_name: str, named: Sequence[int]
) -> str:
    """The caption of one delivered recording (the day in the service's time zone)."""
    day = rec.created_at.astimezone(ctx.settings.schedule.timezone).date()
    speakers = await speakers_of(ctx, rec, named)
    return caption(title, class_name, day, speakers, rec.is_private)


@dataclass(frozen=True)
class Clip:
    """One recording inside a compiled one: what the list shows, and how
    long its prepared file plays."""

    label: str
    duration_s: float


def timestamp(seconds: float) -> str:
    """0:00, 1:12, 1:02:03: where a clip starts in a compiled recording."""
    total = int(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def clip_starts(durations: Sequence[float], gap_s: float) -> list[float]:
    """Where each part starts once joined with ``gap_s`` of silence between
    two (as bot/audio/pipeline.py ``concatenate`` joins them)."""
    starts, at = [], 0.0
    for duration in durations:
        starts.append(at)
        at += duration + gap_s
    return starts


def clip_list(heading: str, clips: Sequence[Clip], gap_s: float) -> str:
    """« 0:00 Le loup — Lina » one line per clip, under a heading."""
    starts = clip_starts([c.duration_s for c in clips], gap_s)
    lines = [f"{timestamp(at)} {clip.label}" for at, clip in zip(starts, clips, strict=True)]
    return "\n".join([heading, *lines] if heading else lines)


async def clip_of(ctx: Context, rec: Recording, title: str) -> Clip:
    """A recording as a line of a compiled one: its title and who speaks."""
    named = await ctx.repos.recordings.tagged_children(rec.id)
    speakers = await speakers_of(ctx, rec, named)
    if speakers:
        title = f"{title} — {format_list(speakers, locale=language())}"
    return Clip(title, rec.duration_s or 0.0)
