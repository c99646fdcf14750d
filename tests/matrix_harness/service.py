"""The real service (``python -m bot run``) on Matrix: its TOML file, its
process, a paced way to Synapse, and a class set up through it the way a
teacher and the parents do. The fixtures are imported by the test modules
that use them (their names are too common to give every test)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from adapters.matrix.devkit.synapse import RegisteredUser, SynapseServer
from tests.matrix_harness.chats import CODE_LINE, Chat, open_dm
from tests.matrix_harness.fixtures import ClientFactory
from tests.matrix_harness.paced_proxy import PacedProxy
from tests.service_process import ServiceProcess, admin, write_config

CHILDREN = ["Lina", "Tom", "Inès", "Noé", "Jade"]
# The first sync with Synapse comes before the service says it runs.
START_PATIENCE_S = 60.0
# The service reaches Synapse through a proxy that sends its messages to the
# families one at a time, this far apart: a fan-out lasts seconds, so a kill
# soon after the first family got a recording lands before the last one.
FAN_OUT_GAP_S = 0.5


def matrix_section(homeserver: str, bot: RegisteredUser) -> dict[str, str]:
    return {"homeserver": homeserver, "user_id": bot.user_id, "password": bot.password}


def matrix_service(config: Path, log: Path) -> ServiceProcess:
    return ServiceProcess(config, log, START_PATIENCE_S)


async def class_room(
    make_client: ClientFactory,
    bot: RegisteredUser,
    service: ServiceProcess,
    config: Path,
    school: str,
    klass: str,
) -> tuple[Chat, Chat]:
    """The operator invites a teacher, the service starts, the teacher
    accepts in a direct chat and makes a new encrypted room the class's
    channel: (that direct chat, the class room)."""
    invite = await admin(config, "invite-teacher", "--school", school, "--class", klass)
    code = re.search(r'"code": "([^"]+)"', invite)
    assert code, invite
    await service.start()
    teacher = await make_client("maitresse")
    teacher_dm = await open_dm(teacher, bot.user_id)
    await teacher_dm.command(f"!start {code.group(1)}")
    room_id = await teacher.create_room(
        [bot.user_id], encrypted=True, direct=False, name="Classe des Moyens"
    )
    room = Chat(teacher, room_id, bot.user_id)
    await room.bot_says()  # the bot joined and introduced itself
    await room.command("!classe")
    return teacher_dm, room


async def set_up_class(
    make_client: ClientFactory, bot: RegisteredUser, service: ServiceProcess, config: Path
) -> tuple[Chat, list[Chat]]:
    """The teacher through the operator's invitation, the class room, the parents."""
    teacher_dm, room = await class_room(
        make_client, bot, service, config, "École des Oliviers", "Moyens"
    )
    album = await room.command("!album Le loup qui voulait changer de couleur")
    assert "loup" in album.body, album.body
    codes = []
    for child in CHILDREN:
        await room.command(f"!invitation {child}")
        for _ in range(3):
            match = CODE_LINE.search((await teacher_dm.bot_says()).body)
            if match:
                codes.append(match.group(0))
                break
        else:
            raise AssertionError(f"no code for {child} in the teacher's direct chat")
    agreed = await room.command("!consentement tous oui")  # the signed paper forms
    assert "accord « oui »" in agreed.body, agreed.body

    async def parent(i: int, parent_code: str) -> Chat:
        client = await make_client(f"parent-{i}")
        chat = await open_dm(client, bot.user_id)
        # Half paste the bare code, half type the command.
        await chat.command(parent_code if i % 2 else f"!start {parent_code}")
        return chat

    parents = await asyncio.gather(*(parent(i, c) for i, c in enumerate(codes)))
    return room, list(parents)


@pytest.fixture
async def proxy(synapse: SynapseServer) -> AsyncIterator[PacedProxy]:
    paced = PacedProxy(synapse.url, FAN_OUT_GAP_S)
    await paced.start()
    try:
        yield paced
    finally:
        await paced.close()


@pytest.fixture
def config(tmp_path: Path, bot_user: RegisteredUser, proxy: PacedProxy) -> Path:
    return write_config(
        tmp_path / "petites-voix.toml",
        tmp_path / "data",
        matrix=matrix_section(proxy.url, bot_user),
    )


@pytest.fixture
async def service(config: Path, tmp_path: Path) -> AsyncIterator[ServiceProcess]:
    process = matrix_service(config, tmp_path / "service.log")
    try:
        yield process
    finally:
        await process.stop()
