"""What the digest tests share: Paris wall-clock instants, a class with
families on chosen rhythms, and reading what each family received."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from tests.core.harness import GROUP, Stage, eventually, sample

PARIS = ZoneInfo("Europe/Paris")
TEACHER = "maitresse"
CLIP = "loup_groupe3_voice.ogg"  # 4 s


def paris(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=PARIS).astimezone(UTC)


async def class_with(stage: Stage, **frequencies: str) -> None:
    """The class, and one child per parent; ``parent="quotidien"``..."""
    await stage.setup_class(TEACHER)
    for i, (parent, frequency) in enumerate(frequencies.items()):
        await stage.invite_parent(TEACHER, f"Enfant{i}", parent)
        if frequency != "immediat":
            await stage.say(parent, f"/frequence {frequency}")


async def post(stage: Stage, *titles: str) -> None:
    for title in titles:
        await stage.post_audio(TEACHER, sample(CLIP), caption=title)


def digest_texts(stage: Stage, chat: str) -> list[str]:
    return [
        t
        for t in stage.adapter.texts_to(chat)
        if t.startswith(("Le résumé", "Pendant votre pause"))
    ]


def audio_titles(stage: Stage, chat: str) -> list[str]:
    return [s.message.audio.title for s in stage.adapter.audio_to(chat) if s.message.audio]


async def plan_at(stage: Stage, moment: datetime) -> int:
    stage.clock.set(moment)
    return await stage.svc.digests.planner.plan()


async def settle(stage: Stage) -> None:
    """Let the worker send whatever is due now, then stop looking."""

    async def idle() -> bool:
        worker = stage.svc.workers[0]
        now = stage.clock.now()
        repos = stage.svc.ctx.repos
        busy = await repos.digests.due("memory", now, 1) or await repos.deliveries.due(
            "memory", now, 1
        )
        return not busy and not worker._in_flight

    stage.svc.ctx.wake.deliveries()
    await eventually(idle)
    await asyncio.sleep(0.05)


__all__ = ["GROUP", "TEACHER"]
