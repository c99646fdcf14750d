"""A family's Matrix room is checked when something is sent to it: on a real
homeserver, through the real service, a parent's direct chat that a third
person joined gets nothing of the class; the family's subscription waits
until the parent resumes from a new direct chat."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from adapters.matrix.devkit.synapse import RegisteredUser
from tests.core.harness import sample
from tests.matrix_harness.chats import CODE_LINE, WAIT_S, open_dm, title
from tests.matrix_harness.fixtures import ClientFactory
from tests.matrix_harness.service import class_room, config, proxy, service
from tests.service_process import ServiceProcess, admin

pytestmark = [pytest.mark.synapse, pytest.mark.timeout(300)]

__all__ = ["config", "proxy", "service"]  # fixtures of the Matrix harness


async def export(config: Path, user: str) -> dict[str, Any]:
    out = await admin(config, "export-family", "--platform", "matrix", "--user", user)
    guardians: list[dict[str, Any]] = json.loads(out)["guardians"]
    assert len(guardians) == 1, out
    return guardians[0]


async def eventually(check: Any, what: str) -> None:
    deadline = asyncio.get_running_loop().time() + WAIT_S
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"not reached in time: {what}")
        await asyncio.sleep(0.3)


async def test_a_family_room_a_third_person_joined_gets_nothing(
    make_client: ClientFactory, bot_user: RegisteredUser, service: ServiceProcess, config: Path
) -> None:
    teacher_dm, room = await class_room(
        make_client, bot_user, service, config, "École du Lac", "MS"
    )
    teacher, room_id = room.client, room.room_id
    await room.command("!album Le loup qui voulait changer de couleur")
    chats = []
    for child in ("Lina", "Tom"):
        await room.command(f"!invitation {child}")
        match = None
        while match is None:
            match = CODE_LINE.search((await teacher_dm.bot_says()).body)
        chat = await open_dm(await make_client(f"parent-{child}"), bot_user.user_id)
        welcome = await chat.command(f"!start {match.group(0)}")
        # Matrix does not tell a person's language: the welcome asks, once.
        assert "لقراءة رسائلي بالعربية: !langue ar" in welcome.body, welcome.body
        question = await chat.bot_says()  # asked once, after the welcome
        assert "Acceptez-vous" in question.body, question.body
        chats.append(chat)
    lina, tom = chats
    agreed = await room.command("!consentement tous oui")  # the signed paper forms
    assert "accord « oui »" in agreed.body, agreed.body

    # Someone else comes into Lina's family's direct chat.
    stranger = await make_client("voisin")
    await lina.client.invite(lina.room_id, stranger.user_id)
    await stranger.client.join(lina.room_id)
    await lina.client.wait_joined(lina.room_id, stranger.user_id)

    voice = sample("loup_groupe3_voice.ogg")
    await teacher.send_audio(room_id, voice, mime="audio/ogg", voice=True, caption=title(0))
    await tom.client.wait_for(lambda r: r.msgtype == "m.audio" and title(0) in r.body)

    async def suspended() -> bool:
        subs = (await export(config, lina.client.user_id))["subscriptions"]
        return bool(subs) and subs[0]["suspended"] == "room_not_private"

    await eventually(suspended, "Lina's family suspended")
    status = json.loads(await admin(config, "status"))
    assert status["deliveries"]["pending"] == 0, status  # nothing left to go: idle
    notice = await lina.bot_says()
    assert "n'est plus privée" in notice.body and "nouvelle discussion directe" in notice.body
    for client in (lina.client, stranger):
        await client.sync()
        assert not [r for r in client.received if r.msgtype == "m.audio"], client.user_id

    # A new direct chat, !reprendre: the next recording goes there only.
    fresh = await open_dm(lina.client, bot_user.user_id)
    assert "C'est reparti" in (await fresh.command("!reprendre")).body
    await teacher.send_audio(room_id, voice, mime="audio/ogg", voice=True, caption=title(1))
    await lina.client.wait_for(
        lambda r: r.room_id == fresh.room_id and r.msgtype == "m.audio" and title(1) in r.body
    )
    await tom.client.wait_for(lambda r: r.msgtype == "m.audio" and title(1) in r.body)
    await stranger.sync()
    assert not [r for r in stranger.received if r.msgtype == "m.audio"]
    assert not lina.voices(0) and not lina.voices(1)  # the old room: nothing

    # The parent stops: erased, and the bot leaves their room.
    await lina.client.send_text(fresh.room_id, "!arreter oui")
    await lina.client.wait_for(lambda r: r.room_id == fresh.room_id and "effacé" in r.body)

    async def bot_left() -> bool:
        await lina.client.sync()
        room = lina.client.client.rooms.get(fresh.room_id)
        return room is not None and bot_user.user_id not in room.users

    await eventually(bot_left, "the bot left the erased parent's room")
    out = await admin(
        config, "export-family", "--platform", "matrix", "--user", lina.client.user_id
    )
    assert json.loads(out)["guardians"] == []
