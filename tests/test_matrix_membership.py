"""Who may read a family's room, from its state as the server returns it."""

from __future__ import annotations

from typing import Any

from adapters.matrix.membership import is_private_with, present_members

BOT, PARENT, OTHER = "@voix:lac.fr", "@papa:lac.fr", "@voisin:lac.fr"


def member(user: str, membership: str) -> dict[str, Any]:
    return {"type": "m.room.member", "state_key": user, "content": {"membership": membership}}


def test_joined_and_invited_count_left_and_banned_do_not() -> None:
    state = [
        {"type": "m.room.create", "state_key": "", "content": {}},
        member(BOT, "join"),
        member(PARENT, "join"),
        member(OTHER, "leave"),
        member("@banni:lac.fr", "ban"),
    ]
    assert present_members(state) == {BOT, PARENT}
    assert is_private_with(present_members(state), BOT, PARENT)


def test_an_invited_third_person_makes_the_room_not_private() -> None:
    members = present_members(
        [member(BOT, "join"), member(PARENT, "join"), member(OTHER, "invite")]
    )
    assert not is_private_with(members, BOT, PARENT)


def test_a_parent_who_left_is_not_reached_there() -> None:
    assert not is_private_with(present_members([member(BOT, "join")]), BOT, PARENT)
    assert not is_private_with(
        present_members([member(BOT, "join"), member(OTHER, "join")]), BOT, PARENT
    )
