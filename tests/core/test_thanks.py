"""A parent's thanks: a warm answer at once, and the next morning (08:00,
the school's time) one line for the teacher counting the families, sent once
whatever restarts, and nothing at all when nobody said thank you."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from bot.service import texts
from bot.service.thanks import Thanks
from tests.core.harness import Stage

TEACHER = "maitresse"
PARIS = ZoneInfo("Europe/Paris")


def paris(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=PARIS).astimezone(UTC)


def thanks_lines(stage: Stage) -> list[str]:
    return [t for t in stage.adapter.texts_to(TEACHER) if "vous remerci" in t]


async def round_of_the_loop(stage: Stage) -> None:
    """What the service's notice loop does each round, done now (it may be
    asleep), then everything it wrote sent."""
    await Thanks(stage.svc.ctx).tick()
    await stage.idle()


async def thank(stage: Stage, parent: str, text: str) -> None:
    before = len(stage.adapter.texts_to(parent))
    await stage.say(parent, text)
    (answer,) = stage.adapter.texts_to(parent)[before:]
    assert answer.startswith("Avec plaisir"), text


async def test_the_teacher_hears_of_the_families_thanks_once_a_morning(stage: Stage) -> None:
    await stage.setup_class(TEACHER)
    await stage.invite_parent(TEACHER, "Lina", "papa_lina", "maman_lina")
    await stage.invite_parent(TEACHER, "Tom", "maman_tom")
    await stage.invite_parent(TEACHER, "Zoé", "papa_zoe")
    await stage.invite_parent(TEACHER, "Léo", "papa_leo", consent=False)
    # Tuesday 10:00: today's line (no thanks yet) is done, and nothing was sent.
    await round_of_the_loop(stage)
    assert thanks_lines(stage) == []

    await thank(stage, "papa_lina", "Merci !")
    await thank(stage, "maman_lina", "merci beaucoup")  # the same family
    await thank(stage, "papa_lina", "🙏")
    await thank(stage, "maman_tom", "❤️")
    await thank(stage, "papa_zoe", "Thanks!")
    await round_of_the_loop(stage)
    assert thanks_lines(stage) == []  # not before the next morning

    stage.clock.set(paris(25, 7, 59))
    await round_of_the_loop(stage)
    assert thanks_lines(stage) == []
    stage.clock.set(paris(25, 8, 0))
    await round_of_the_loop(stage)
    assert thanks_lines(stage) == ["MS-GS : 3 familles vous remercient."]

    # A restart writes and sends nothing again.
    await stage.stop()
    await stage.start()
    await round_of_the_loop(stage)
    assert len(thanks_lines(stage)) == 1

    stage.clock.set(paris(25, 9, 0))
    await thank(stage, "papa_leo", "merci")
    stage.clock.set(paris(26, 8, 30))
    await round_of_the_loop(stage)
    assert thanks_lines(stage)[1:] == ["MS-GS : 1 famille vous remercie."]
    # No child's name, whatever the families' consent.
    assert not any(name in " ".join(thanks_lines(stage)) for name in ("Lina", "Tom", "Léo"))

    # A morning without thanks: the line's hour came and went, nothing sent.
    stage.clock.set(paris(27, 8, 0))
    assert await stage.svc.ctx.repos.thanks.waiting() == 0
    await round_of_the_loop(stage)
    assert await stage.svc.ctx.repos.thanks.day_done("2026-11-27")
    assert len(thanks_lines(stage)) == 2


def test_what_counts_as_thanks() -> None:
    for text in ("Merci !", "merci beaucoup 🙏", "Thank you!", "🙏", "❤️", "❤️❤️ !", "thx"):
        assert texts.is_thanks(text), text
    for text in ("Merci, comment on change le rythme ?", "🙂 ?", "Bonjour", "", "/pause"):
        assert not texts.is_thanks(text), text
