"""Answers that never contradict themselves: nothing said « envoyé » that
did not reach the teacher, no set-up advice for a group that exists, and
French plurals (« 1 enfant »)."""

from __future__ import annotations

import pytest

from adapters.memory import blocked
from tests.core.harness import GROUP, Stage

TEACHER = "maitresse"


@pytest.fixture
def database() -> None:
    """SQLite only: these are words, not storage."""
    return None


def last(stage: Stage, chat: str = GROUP) -> str:
    return stage.adapter.texts_to(chat)[-1]


async def test_a_failed_private_send_is_not_reported_as_sent(stage: Stage) -> None:
    await stage.setup_class(TEACHER)
    await stage.say(TEACHER, "/invitation Lina", chat=GROUP)
    assert last(stage) == "L'invitation pour la famille de Lina vous est envoyée en privé."

    stage.adapter.failures[TEACHER] = blocked  # the teacher's private chat refuses
    for command, what in (
        ("/invitation Tom", "L'invitation pour la famille de Tom n'a pas pu"),
        ("/invitations", "Les invitations à imprimer n'ont pas pu"),
        ("/coenseignant", "L'invitation de co-enseignant(e) n'a pas pu"),
    ):
        await stage.say(TEACHER, command, chat=GROUP)
        answer = last(stage)
        assert answer.startswith(what), answer
        assert "vous est envoyée" not in answer and "vous sont envoyées" not in answer
        assert f"tapez à nouveau {command} ici" in answer, answer

    del stage.adapter.failures[TEACHER]
    await stage.say(TEACHER, "/invitations", chat=GROUP)
    assert last(stage) == "Les invitations à imprimer vous sont envoyées en privé."


async def test_group_commands_in_private_name_the_group_once_it_exists(stage: Stage) -> None:
    await stage.invite_teacher(TEACHER)
    await stage.say(TEACHER, "/album Le loup")
    before_group = last(stage, TEACHER)
    assert "tapez /classe" in before_group  # no group yet: how to make one

    await stage.say(TEACHER, "/classe", chat=GROUP)
    await stage.say(TEACHER, "/album Le loup")
    answer = last(stage, TEACHER)
    assert answer == "Cette commande se tape dans le groupe de la classe (« MS-GS »), pas ici."


async def test_one_is_singular(stage: Stage) -> None:
    await stage.setup_class(TEACHER)
    await stage.invite_parent(TEACHER, "Lina", "papa_lina")
    await stage.say(TEACHER, "/parents", chat=GROUP)
    assert "1 famille inscrite sur 1 enfant." in last(stage)
    await stage.say(TEACHER, "/consentement tous oui", chat=GROUP)
    assert "1 enfant " in last(stage) and "1 enfants" not in last(stage)
    await stage.say(TEACHER, "/revoquer Lina", chat=GROUP)
    assert last(stage).startswith("1 invitation pour la famille de Lina annulée : elle ne sert")
    await stage.say(TEACHER, "/revoquer Lina", chat=GROUP)
    assert last(stage).startswith("Aucune invitation en cours pour la famille de Lina")
    await stage.say(TEACHER, "/invitation Tom", chat=GROUP)
    await stage.say(TEACHER, "/invitation Tom", chat=GROUP)
    await stage.say(TEACHER, "/revoquer Tom", chat=GROUP)
    assert last(stage).startswith("2 invitations pour la famille de Tom annulées : elles ne")
