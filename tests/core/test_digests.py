"""Frequencies and digests through the memory platform: the right
recording at the right time, once."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, time
from pathlib import Path

from adapters.memory import MemoryAdapter, blocked, rate_limited
from bot.config import ScheduleSettings
from bot.digests.planner import Planner
from bot.service.quiet_hours import next_allowed
from tests.core.digests_kit import (
    audio_titles,
    class_with,
    digest_texts,
    paris,
    plan_at,
    post,
    settle,
)
from tests.core.harness import Stage, eventually

LOUP = "Le loup qui voulait changer de couleur"


def test_quiet_hours_crossing_midnight_hold_until_their_end() -> None:
    schedule = ScheduleSettings(quiet_hours=(time(20, 0), time(7, 30)))
    assert next_allowed(paris(2026, 11, 24, 19, 59), schedule) == paris(2026, 11, 24, 19, 59)
    assert next_allowed(paris(2026, 11, 24, 20, 0), schedule) == paris(2026, 11, 25, 7, 30)
    assert next_allowed(paris(2026, 11, 24, 23, 50), schedule) == paris(2026, 11, 25, 7, 30)
    assert next_allowed(paris(2026, 11, 25, 0, 10), schedule) == paris(2026, 11, 25, 7, 30)
    assert next_allowed(paris(2026, 11, 25, 7, 30), schedule) == paris(2026, 11, 25, 7, 30)
    # The night of the spring change: 7:30 is still 7:30 on the wall clock.
    assert next_allowed(paris(2026, 3, 28, 23, 0), schedule) == datetime(
        2026, 3, 29, 5, 30, tzinfo=UTC
    )


async def test_immediate_recording_waits_for_the_end_of_quiet_hours(stage: Stage) -> None:
    await class_with(stage, papa="immediat")
    stage.clock.set(paris(2026, 11, 24, 23, 0))
    await post(stage, "Le soir")
    await stage.publish()  # the undo window ends at 23:01, inside quiet hours
    await settle(stage)
    assert audio_titles(stage, "papa") == []
    stage.clock.set(paris(2026, 11, 25, 7, 29))
    await settle(stage)
    assert audio_titles(stage, "papa") == []
    stage.clock.set(paris(2026, 11, 25, 7, 30))
    stage.svc.ctx.wake.deliveries()
    await eventually(lambda: audio_titles(stage, "papa") == [f"{LOUP} : Le soir"])


async def test_daily_digest_at_its_time_with_what_was_published_since(stage: Stage) -> None:
    await class_with(stage, papa="quotidien", maman="immediat")
    answer = stage.adapter.texts_to("papa")[-1]
    assert "une fois par jour" in answer and "18h00" in answer
    await post(stage, "Groupe 1", "Groupe 2")
    await stage.publish()
    await eventually(lambda: len(audio_titles(stage, "maman")) == 2)
    assert await plan_at(stage, paris(2026, 11, 24, 17, 59)) == 0
    await settle(stage)
    assert digest_texts(stage, "papa") == [] and audio_titles(stage, "papa") == []

    assert await plan_at(stage, paris(2026, 11, 24, 18, 0)) == 1
    await eventually(lambda: len(audio_titles(stage, "papa")) == 2)
    [text] = digest_texts(stage, "papa")
    assert text.startswith("Le résumé du mardi 24 novembre : 2 nouveaux enregistrements.")
    assert f"MS-GS, « {LOUP} »" in text and "• Groupe 1 (4 s)" in text and "• Groupe 2" in text
    assert audio_titles(stage, "papa") == [f"{LOUP} : Groupe 1", f"{LOUP} : Groupe 2"]
    assert digest_texts(stage, "maman") == []

    # Published after 18:00: waits for tomorrow's digest, alone.
    await post(stage, "Groupe 3")
    await stage.publish()
    assert await plan_at(stage, paris(2026, 11, 24, 19, 0)) == 0
    assert await plan_at(stage, paris(2026, 11, 25, 18, 0)) == 1
    await eventually(lambda: len(audio_titles(stage, "papa")) == 3)
    await settle(stage)
    assert len(digest_texts(stage, "papa")) == 2
    assert digest_texts(stage, "papa")[1].startswith("Le résumé du mercredi 25 novembre : 1 nouvel")
    counts = await stage.svc.ctx.repos.deliveries.counts_by_state()
    assert counts["digest"] == 0 and counts["sent"] == 6


async def test_weekly_digest_at_the_class_time_only(stage: Stage) -> None:
    await class_with(stage, papa="hebdomadaire")
    assert "le vendredi 16h30" in stage.adapter.texts_to("papa")[-1]
    await post(stage, "Mardi")
    await stage.publish()
    for moment in (paris(2026, 11, 24, 18, 0), paris(2026, 11, 27, 16, 29)):
        assert await plan_at(stage, moment) == 0  # no daily digest on a weekly rhythm
    assert await plan_at(stage, paris(2026, 11, 27, 16, 30)) == 1
    await eventually(lambda: len(audio_titles(stage, "papa")) == 1)
    [text] = digest_texts(stage, "papa")
    assert text.startswith("Le résumé de la semaine : 1 nouvel enregistrement.")
    assert await plan_at(stage, paris(2026, 11, 28, 9, 0)) == 0


async def test_pause_then_resume_is_one_compiled_digest_not_a_flood(stage: Stage) -> None:
    await class_with(stage, papa="immediat", maman="immediat")
    await stage.say("papa", "/pause")
    titles = [f"Groupe {i}" for i in range(1, 6)]
    await post(stage, *titles)
    await stage.publish()
    await eventually(lambda: len(audio_titles(stage, "maman")) == 5)
    await settle(stage)
    assert audio_titles(stage, "papa") == []

    await stage.say("papa", "/reprendre")
    assert "5 enregistrements" in stage.adapter.texts_to("papa")[-1]
    await eventually(lambda: len(audio_titles(stage, "papa")) == 1)
    await settle(stage)
    [text] = digest_texts(stage, "papa")
    assert text.startswith("Pendant votre pause : 5 nouveaux enregistrements.")
    assert all(f"• {t} (4 s)" in text for t in titles)
    assert text.index("Groupe 1") < text.index("Groupe 5")
    assert "réunis ci-dessous en un seul enregistrement" in text
    [compiled] = stage.adapter.audio_to("papa")
    assert compiled.message.audio is not None
    assert compiled.message.audio.title == "Résumé : 5 enregistrements"
    # Five clips of about 4.3 s and four gaps of 1 s, in one recording.
    assert 24 < compiled.message.audio.duration_s < 27
    counts = await stage.svc.ctx.repos.deliveries.counts_by_state()
    assert counts["held"] == 0 and counts["sent"] == 10
    # A second /reprendre finds nothing to send.
    await stage.say("papa", "/reprendre")
    await settle(stage)
    assert len(stage.adapter.audio_to("papa")) == 1


async def test_compiled_recording_is_built_and_uploaded_once_for_all_families(
    stage: Stage,
) -> None:
    await class_with(stage, papa="quotidien", maman="quotidien", tata="quotidien")
    await post(stage, "Un", "Deux", "Trois", "Quatre")
    await stage.publish()
    assert await plan_at(stage, paris(2026, 11, 24, 18, 0)) == 3
    await eventually(lambda: all(audio_titles(stage, p) for p in ("papa", "maman", "tata")))
    await settle(stage)
    for parent in ("papa", "maman", "tata"):
        assert audio_titles(stage, parent) == ["Résumé : 4 enregistrements"]
        [text] = digest_texts(stage, parent)
        assert "4 nouveaux enregistrements" in text and "• Quatre (4 s)" in text
    mixes = await stage.svc.ctx.repos.db.fetchval("SELECT COUNT(*) FROM mixes")
    assert mixes == 1
    assert len([s for s in stage.adapter.audio_to_any() if s.uploaded]) == 1


async def test_two_timers_for_the_same_period_make_one_digest(stage: Stage) -> None:
    await class_with(stage, papa="quotidien")
    await post(stage, "Groupe 1")
    await stage.publish()
    stage.clock.set(paris(2026, 11, 24, 18, 0))
    planners = [stage.svc.digests.planner, Planner(stage.svc.ctx), Planner(stage.svc.ctx)]
    created = await asyncio.gather(*(p.plan() for p in planners))
    assert sorted(created) == [0, 0, 1]
    # A clock set back then forward again, a late tick: still the same period.
    assert await plan_at(stage, paris(2026, 11, 24, 17, 0)) == 0
    assert await plan_at(stage, paris(2026, 11, 24, 18, 10)) == 0
    await eventually(lambda: len(audio_titles(stage, "papa")) == 1)
    await settle(stage)
    assert len(digest_texts(stage, "papa")) == 1


async def test_restart_before_and_after_the_digest_time(
    tmp_path: Path, database: str | None
) -> None:
    first = Stage(tmp_path / "data", database=database)
    await first.start()
    await class_with(first, papa="quotidien")
    await post(first, "Groupe 1")
    await first.publish()
    first.clock.set(paris(2026, 11, 24, 17, 30))
    await first.stop()

    # Started again before 18:00: nothing yet; at 18:00, one digest.
    second = Stage(tmp_path / "data", database=database, adapter=MemoryAdapter(), clock=first.clock)
    await second.start()
    await settle(second)
    assert second.adapter.sent == []
    assert await plan_at(second, paris(2026, 11, 24, 18, 0)) == 1
    await eventually(lambda: len(audio_titles(second, "papa")) == 1)
    await second.stop()

    # Started again after it: nothing twice.
    third = Stage(tmp_path / "data", database=database, adapter=MemoryAdapter(), clock=first.clock)
    first.clock.set(paris(2026, 11, 24, 19, 0))
    await third.start()
    await settle(third)
    assert third.adapter.sent == []
    await third.stop()


async def test_digest_due_while_stopped_goes_once_at_start(
    tmp_path: Path, database: str | None
) -> None:
    first = Stage(tmp_path / "data", database=database)
    await first.start()
    await class_with(first, papa="quotidien")
    await post(first, "Groupe 1", "Groupe 2")
    await first.publish()
    await first.stop()

    first.clock.set(paris(2026, 11, 24, 19, 15))  # stopped through 18:00
    second = Stage(tmp_path / "data", database=database, adapter=MemoryAdapter(), clock=first.clock)
    await second.start()  # catch-up at start, no tick needed
    await eventually(lambda: len(audio_titles(second, "papa")) == 2)
    await settle(second)
    assert len(digest_texts(second, "papa")) == 1
    await second.stop()

    third = Stage(tmp_path / "data", database=database, adapter=MemoryAdapter(), clock=first.clock)
    await third.start()
    await settle(third)
    assert third.adapter.sent == []
    await third.stop()


async def test_the_scheduler_job_is_wired_and_wakes_the_planner(stage: Stage) -> None:
    await class_with(stage, papa="quotidien")
    await post(stage, "Groupe 1")
    await stage.publish()
    alarm = stage.svc.digests.alarm
    assert alarm.scheduler is not None and alarm.scheduler.running
    job = alarm.scheduler.get_job("digest-planner")
    assert job is not None
    stage.clock.set(paris(2026, 11, 24, 18, 1))
    job.modify(next_run_time=datetime.now(UTC))  # the minute has come
    await eventually(lambda: len(audio_titles(stage, "papa")) == 1)
    assert alarm.ticks >= 1
    assert len(digest_texts(stage, "papa")) == 1


async def test_resume_on_a_daily_rhythm_joins_the_next_digest(stage: Stage) -> None:
    await class_with(stage, papa="quotidien")
    await stage.say("papa", "/pause")
    await post(stage, "Groupe 1", "Groupe 2")
    await stage.publish()
    assert await plan_at(stage, paris(2026, 11, 24, 18, 0)) == 0  # paused: nothing planned
    await stage.say("papa", "/reprendre")
    assert "viendra avec votre prochain résumé" in stage.adapter.texts_to("papa")[-1]
    await settle(stage)
    assert audio_titles(stage, "papa") == []
    assert await plan_at(stage, paris(2026, 11, 25, 18, 0)) == 1
    await eventually(lambda: len(audio_titles(stage, "papa")) == 2)
    await settle(stage)
    assert len(digest_texts(stage, "papa")) == 1


async def test_digest_errors_rate_limit_then_blocked(stage: Stage) -> None:
    await class_with(stage, papa="quotidien", maman="quotidien")
    await post(stage, "Groupe 1")
    await stage.publish()
    stage.adapter.failures["papa"] = rate_limited(0.3, "papa")
    stage.adapter.failures["maman"] = blocked
    assert await plan_at(stage, paris(2026, 11, 24, 18, 0)) == 2
    await settle(stage)
    repos = stage.svc.ctx.repos
    assert await repos.digests.counts_by_state() == {"failed": 1, "sending": 1}
    lines = await repos.families.family_lines(1)
    assert sum(line.suspended for line in lines) == 1  # maman blocked the bot
    # Once the pause asked for is over, papa's digest goes, once.
    del stage.adapter.failures["papa"]
    stage.clock.advance(1)
    await eventually(lambda: len(audio_titles(stage, "papa")) == 1)
    await settle(stage)
    assert len(digest_texts(stage, "papa")) == 1
    assert await repos.digests.counts_by_state() == {"failed": 1, "sent": 1}
