"""The real service process on Matrix killed with SIGKILL again and again,
during ingest and during fan-out, restarted each time on the same data
directory: every recording reaches every family, decrypted by their
clients, and none twice (each delivery has its own transaction id, which
Synapse answers with the event already sent).

Synapse runs for the test session; the service runs as
``python -m bot run --config FILE`` pointed at it; the teacher and the
parents are scripted Element-like clients in the test process.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import re
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from adapters.matrix.devkit.client import Received, ScriptedClient
from adapters.matrix.devkit.synapse import RegisteredUser, SynapseServer
from tests.core.harness import sample
from tests.matrix_harness.fixtures import ClientFactory
from tests.matrix_harness.paced_proxy import PacedProxy
from tests.service_process import ServiceProcess, admin
from tests.service_process import until as wait_until

pytestmark = [pytest.mark.synapse, pytest.mark.timeout(300)]

CHILDREN = ["Lina", "Tom", "Inès", "Noé", "Jade"]
RECORDINGS = 8
START_PATIENCE_S = 60.0
WAIT_S = 60.0
READY = "Petites Voix is running"
# The service reaches Synapse through a proxy that sends its messages to the
# families one at a time, this far apart: a fan-out lasts seconds, so a kill
# soon after the first family got a recording lands before the last one.
FAN_OUT_GAP_S = 0.5
CODE_LINE = re.compile(r"^[A-Za-z0-9_-]{20,64}$", re.M)


def title(n: int) -> str:
    return f"Essai {n:02d}"


class MatrixService(ServiceProcess):
    """Started once its log says so: the first sync done, the loop running."""

    start_patience_s = START_PATIENCE_S

    def _ready_lines(self) -> int:
        if not self.log.exists():
            return 0
        return self.log.read_text(errors="replace").count(READY)

    def _mark(self) -> int:
        return self._ready_lines()

    def _ready(self, mark: int) -> bool:
        return self._ready_lines() > mark


async def until(check: Callable[[], object], what: str, wait_s: float = WAIT_S) -> None:
    await wait_until(check, what, wait_s)


class Chat:
    """One person's conversation with the bot in one room."""

    def __init__(self, client: ScriptedClient, room_id: str, bot_id: str) -> None:
        self.client = client
        self.room_id = room_id
        self.bot_id = bot_id
        self.seen: set[str] = set()

    def _new(self, item: Received) -> bool:
        return (
            item.room_id == self.room_id
            and item.sender == self.bot_id
            and item.type == "m.room.message"
            and item.event_id not in self.seen
        )

    async def bot_says(self) -> Received:
        """The bot's next message here (the client syncs while waiting)."""
        item = await self.client.wait_for(self._new, WAIT_S)
        self.seen.add(item.event_id)
        return item

    async def command(self, text: str) -> Received:
        await self.client.send_text(self.room_id, text)
        return await self.bot_says()

    def voices(self, n: int) -> set[str]:
        """The distinct events of recording ``n`` the bot posted here."""
        pattern = re.compile(rf"\b{re.escape(title(n))}\b")
        return {
            r.event_id
            for r in self.client.received
            if r.room_id == self.room_id
            and r.sender == self.bot_id
            and r.msgtype == "m.audio"
            and (pattern.search(r.body) or pattern.search(str(r.content.get("filename", ""))))
        }


async def open_dm(client: ScriptedClient, bot_id: str) -> Chat:
    room_id = await client.create_dm(bot_id)
    await client.wait_joined(room_id, bot_id, WAIT_S)
    return Chat(client, room_id, bot_id)


async def set_up_class(
    make_client: ClientFactory, bot: RegisteredUser, service: MatrixService, config: Path
) -> tuple[Chat, list[Chat]]:
    """The teacher through the operator's invitation, the class room, the parents."""
    invite = await admin(
        config, "invite-teacher", "--school", "École des Oliviers", "--class", "Moyens"
    )
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


async def keep_syncing(clients: list[ScriptedClient]) -> None:
    """Each parent's client long-polls, as a phone left open would."""

    async def one(client: ScriptedClient) -> None:
        while True:
            try:
                await client.sync(timeout_ms=1000)
            except (RuntimeError, OSError):
                await asyncio.sleep(0.2)

    await asyncio.gather(*(one(c) for c in clients))


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
    path = tmp_path / "petites-voix.toml"
    path.write_text(
        f"""
[storage]
data_dir = "{tmp_path / "data"}"

[matrix]
homeserver = "{proxy.url}"
user_id = "{bot_user.user_id}"
password = "{bot_user.password}"

[schedule]
quiet_hours = ""

[delivery]
grace_seconds = 0
""",
        encoding="utf-8",
    )
    return path


@pytest.fixture
async def service(config: Path, tmp_path: Path) -> AsyncIterator[MatrixService]:
    process = MatrixService(config, tmp_path / "service.log")
    try:
        yield process
    finally:
        await process.stop()


async def test_sigkill_during_ingest_and_fan_out_loses_and_duplicates_nothing(
    make_client: ClientFactory,
    bot_user: RegisteredUser,
    service: MatrixService,
    config: Path,
    proxy: PacedProxy,
) -> None:
    seed = int(os.environ.get("PV_CRASH_SEED", random.randrange(1 << 30)))
    rng = random.Random(seed)
    voice = sample("loup_groupe3_voice.ogg")
    crashes = {"ingest": 0, "fan-out": 0}
    cut_short = 0  # fan-out kills that left parents waiting
    syncing: asyncio.Task[None] | None = None
    try:
        room, parents = await set_up_class(make_client, bot_user, service, config)
        proxy.paced_rooms.update(p.room_id for p in parents)
        syncing = asyncio.create_task(keep_syncing([p.client for p in parents]))
        for n in range(RECORDINGS):
            await room.client.send_audio(
                room.room_id, voice, mime="audio/ogg", voice=True, caption=title(n)
            )
            # Not yet synced, being downloaded, prepared, filed, answered.
            await asyncio.sleep(rng.uniform(0.0, 1.5))
            await service.kill()
            crashes["ingest"] += 1
            await service.start()
            # Fan-out: once a parent got it, while the others are sent.
            await until(
                lambda n=n: any(p.voices(n) for p in parents),
                f"recording {n} going out (lost?)",
            )
            await asyncio.sleep(rng.uniform(0.0, 0.2))
            await service.kill()
            cut_short += any(not p.voices(n) for p in parents)
            crashes["fan-out"] += 1
            await service.start()

        await until(
            lambda: all(p.voices(n) for p in parents for n in range(RECORDINGS)),
            "every recording delivered to every parent",
            wait_s=90.0,
        )
        # Whatever the last run still had under way ends before counting.
        await service.stop()
        await asyncio.sleep(1.0)
    except AssertionError:
        print(service.tail())
        raise
    finally:
        if syncing is not None:
            syncing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await syncing
    for p in parents:
        await p.client.sync()

    counts = {(i, n): len(p.voices(n)) for i, p in enumerate(parents) for n in range(RECORDINGS)}
    lost = [key for key, count in counts.items() if count == 0]
    duplicates = sum(count - 1 for count in counts.values() if count > 1)
    undecryptable = sum(len(p.client.undecryptable) for p in parents)
    total = sum(crashes.values())
    print(
        f"\nMatrix crash test (seed {seed}): {total} SIGKILLs ({crashes['ingest']} during "
        f"ingest, {crashes['fan-out']} during fan-out, {cut_short} of them mid-way), "
        f"{service.starts} starts, {RECORDINGS} recordings x {len(parents)} parents: "
        f"{sum(counts.values())} voice messages, {duplicates} duplicate(s), "
        f"{len(lost)} lost, {undecryptable} undecryptable"
    )
    assert total >= 12
    # At least one kill must have cut a fan-out short (some parents served,
    # others not yet), or the test proved nothing about resuming one.
    assert cut_short >= 1, "no kill hit a fan-out mid-way"
    assert lost == []
    assert duplicates == 0
    assert undecryptable == 0
