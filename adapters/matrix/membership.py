"""Who is in a room, from its state events as the server returns them (pure)."""

from __future__ import annotations

from typing import Any

# Members who can read what is sent next: joined, or invited (an invited
# user who joins later can read an unencrypted room's history).
_PRESENT = ("join", "invite")


def present_members(state_events: list[dict[str, Any]]) -> set[str]:
    found = set()
    for event in state_events:
        if event.get("type") != "m.room.member":
            continue
        content = event.get("content")
        user = event.get("state_key")
        if (
            isinstance(content, dict)
            and isinstance(user, str)
            and content.get("membership") in _PRESENT
        ):
            found.add(user)
    return found


def is_private_with(members: set[str], bot: str, person: str) -> bool:
    """The room holds the bot and that person, and nobody else."""
    return members == {bot, person}
