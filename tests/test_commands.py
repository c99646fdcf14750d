from __future__ import annotations

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import pytest

from bot.commands import parse_command
from bot.config import ScheduleSettings
from bot.schedule_words import parse_weekly_slot
from bot.service.quiet_hours import next_allowed
from bot.service.who_speaks import only_tags, read_tags


@pytest.mark.parametrize(
    ("text", "prefixes", "name", "args"),
    [
        ("/fréquence quotidien", ("/",), "frequence", "quotidien"),
        ("/FREQUENCE Hebdomadaire", ("/",), "frequence", "Hebdomadaire"),
        ("/album@petitesvoixbot Le Loup  ", ("/",), "album", "Le Loup"),
        ("!arrêter oui", ("!", "/"), "arreter", "oui"),
        ("/écouter 2", ("!", "/"), "ecouter", "2"),
    ],
)
def test_commands_ignore_accents_case_and_bot_suffix(
    text: str, prefixes: tuple[str, ...], name: str, args: str
) -> None:
    command = parse_command(text, prefixes)
    assert command is not None
    assert (command.name, command.args) == (name, args)


@pytest.mark.parametrize("text", ["bonjour", "", "/", "!album", "/ album", "/../etc"])
def test_plain_text_is_not_a_command(text: str) -> None:
    assert parse_command(text, ("/",)) is None


def test_weekly_slot_in_french_and_english() -> None:
    assert parse_weekly_slot("Vendredi 16:30").storage() == "4 16:30"
    assert parse_weekly_slot("fri 16h30").storage() == "4 16:30"
    assert parse_weekly_slot("lun. 8h").storage() == "0 08:00"
    with pytest.raises(ValueError):
        parse_weekly_slot("vendredi")


def test_caption_tags() -> None:
    caption = read_tags("Le loup, groupe 2 #Lina #prive")
    assert caption == read_tags("Le loup, groupe 2 #prive #lina")
    assert caption.title == "Le loup, groupe 2"
    assert caption.names == ("Lina",)
    assert caption.private
    assert not read_tags("#Tom #Zoé").private
    assert read_tags("#Tom #Zoé").names == ("Tom", "Zoé")
    assert read_tags("#classe").whole_class and read_tags("#Léa_B").names == ("Léa B.",)
    assert read_tags("+#Lina").adding
    assert only_tags("#Lina #Tom") and only_tags("+#Lina")
    assert not only_tags("merci #Lina") and not only_tags("#") and not only_tags("")


PARIS = ZoneInfo("Europe/Paris")


@pytest.mark.parametrize(
    ("local", "expected"),
    [
        (
            datetime(2026, 11, 24, 19, 59, tzinfo=PARIS),
            datetime(2026, 11, 24, 19, 59, tzinfo=PARIS),
        ),
        (datetime(2026, 11, 24, 20, 0, tzinfo=PARIS), datetime(2026, 11, 25, 7, 30, tzinfo=PARIS)),
        (datetime(2026, 11, 25, 2, 0, tzinfo=PARIS), datetime(2026, 11, 25, 7, 30, tzinfo=PARIS)),
        (datetime(2026, 11, 25, 7, 30, tzinfo=PARIS), datetime(2026, 11, 25, 7, 30, tzinfo=PARIS)),
        # the autumn DST night still ends at 7:30 local time
        (datetime(2026, 10, 24, 23, 0, tzinfo=PARIS), datetime(2026, 10, 25, 7, 30, tzinfo=PARIS)),
    ],
)
def test_quiet_hours_cross_midnight(local: datetime, expected: datetime) -> None:
    schedule = ScheduleSettings(timezone=PARIS, quiet_hours=(time(20, 0), time(7, 30)))
    assert next_allowed(local.astimezone(UTC), schedule) == expected.astimezone(UTC)
