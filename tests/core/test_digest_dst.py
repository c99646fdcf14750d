"""The two DST Sundays of Europe/Paris: no digest skipped, none doubled,
whatever minute the planner is woken at."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest

from bot.digests.periods import latest_daily, latest_weekly
from bot.schedule_words import WeeklySlot
from tests.core.digests_kit import (
    GROUP,
    PARIS,
    TEACHER,
    audio_titles,
    class_with,
    digest_texts,
    paris,
    plan_at,
    post,
    settle,
)
from tests.core.harness import Stage, eventually

SPRING = datetime(2026, 3, 29, tzinfo=UTC)  # 02:00 CET -> 03:00 CEST
AUTUMN = datetime(2026, 10, 25, tzinfo=UTC)  # 03:00 CEST -> 02:00 CET
SUNDAY_0230 = WeeklySlot(6, time(2, 30))


def test_periods_are_named_by_the_local_date() -> None:
    assert latest_daily(datetime(2026, 3, 29, 15, 59, tzinfo=UTC), time(18), PARIS).key == (
        "daily:2026-03-28"
    )
    spring = latest_daily(datetime(2026, 3, 29, 16, 0, tzinfo=UTC), time(18), PARIS)
    assert spring.key == "daily:2026-03-29"
    assert spring.due_at == datetime(2026, 3, 29, 16, 0, tzinfo=UTC)
    autumn = latest_daily(datetime(2026, 10, 25, 17, 0, tzinfo=UTC), time(18), PARIS)
    assert autumn.key == "daily:2026-10-25"
    assert autumn.due_at == datetime(2026, 10, 25, 17, 0, tzinfo=UTC)
    # 02:30 does not exist on the spring Sunday: the slot is the instant after the gap.
    gap = latest_weekly(datetime(2026, 3, 29, 2, 0, tzinfo=UTC), SUNDAY_0230, PARIS)
    assert gap.key == "weekly:2026-W13:"
    assert gap.due_at == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)  # 03:30 CEST
    # 02:30 happens twice on the autumn Sunday: the first one counts.
    fold = latest_weekly(datetime(2026, 10, 25, 3, 0, tzinfo=UTC), SUNDAY_0230, PARIS)
    assert fold.key == "weekly:2026-W43:"
    assert fold.due_at == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)


def _ticks(start: datetime, end: datetime, step: timedelta) -> list[datetime]:
    out = []
    while start <= end:
        out.append(start)
        start += step
    return out


@pytest.mark.parametrize(
    ("sunday", "expected_due"),
    [
        (SPRING, datetime(2026, 3, 29, 16, 0, tzinfo=UTC)),
        (AUTUMN, datetime(2026, 10, 25, 17, 0, tzinfo=UTC)),
    ],
    ids=["spring", "autumn"],
)
async def test_daily_digest_on_a_dst_sunday_goes_exactly_once(
    stage: Stage, sunday: datetime, expected_due: datetime
) -> None:
    saturday_evening = paris(sunday.year, sunday.month, sunday.day - 1, 19, 0)
    stage.clock.set(saturday_evening)
    await class_with(stage, papa="quotidien")
    await post(stage, "Samedi soir")
    await stage.publish()
    created_at = []
    # Every five minutes from Saturday evening to Monday morning, through the change.
    for moment in _ticks(
        saturday_evening, sunday + timedelta(days=1, hours=6), timedelta(minutes=5)
    ):
        if await plan_at(stage, moment):
            created_at.append(moment)
    assert created_at == [expected_due]
    await settle(stage)
    assert len(digest_texts(stage, "papa")) == 1
    assert audio_titles(stage, "papa") == ["Le loup qui voulait changer de couleur : Samedi soir"]
    keys = await stage.svc.ctx.repos.db.fetch("SELECT period_key FROM digests")
    assert [k[0] for k in keys] == [f"daily:{sunday.date().isoformat()}"]


@pytest.mark.parametrize(
    ("sunday", "expected_due", "week"),
    [
        (SPRING, datetime(2026, 3, 29, 1, 30, tzinfo=UTC), "2026-W13"),
        (AUTUMN, datetime(2026, 10, 25, 0, 30, tzinfo=UTC), "2026-W43"),
    ],
    ids=["spring-gap", "autumn-fold"],
)
async def test_weekly_slot_at_half_past_two_on_a_dst_sunday(
    stage: Stage, sunday: datetime, expected_due: datetime, week: str
) -> None:
    stage.clock.set(paris(sunday.year, sunday.month, sunday.day - 1, 10, 0))
    await class_with(stage, papa="hebdomadaire")
    await stage.say(TEACHER, "/resume dimanche 02:30", chat=GROUP)
    await post(stage, "Samedi")
    await stage.publish()
    created_at = []
    # Every minute through the night of the change, both 02:30 of autumn included.
    for moment in _ticks(
        sunday - timedelta(hours=1), sunday + timedelta(hours=4), timedelta(minutes=1)
    ):
        if await plan_at(stage, moment):
            created_at.append(moment)
    assert created_at == [expected_due]
    await eventually(lambda: len(audio_titles(stage, "papa")) == 1)
    await settle(stage)
    [text] = digest_texts(stage, "papa")
    assert text.startswith("Le résumé de la semaine : 1 nouvel enregistrement.")
    keys = await stage.svc.ctx.repos.db.fetch("SELECT period_key FROM digests")
    assert [k[0].rsplit(":", 1)[0] for k in keys] == [f"weekly:{week}"]
