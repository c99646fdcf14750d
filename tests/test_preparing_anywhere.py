"""Preparing audio spreads over every process: real ``python -m bot run``
processes on one PostgreSQL database and the local Bot API server.

The process holding the bot downloads each recording and stores the
original; whichever process has a free ffmpeg slot converts it. To know
who may convert what without counting on timing, a process's ffmpeg is
"gated": the real ffmpeg, started only once the test lets it go (it says
it started first). The process holding the bot gets one ffmpeg slot and a
closed gate: once it works on one recording, the others can only be
converted elsewhere, and the teacher's answers for them still come through
the bot's holder.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import imageio_ffmpeg
import psycopg
import pytest

from tests.core.harness import sample
from tests.postgres_server import PostgresServer
from tests.service_process import (
    ServiceProcess,
    admin,
    holder_pid,
    stopped_after,
    until,
    write_config,
)
from tests.telegram_api import FakeTelegram, Limits, running_fake_api
from tests.test_several_processes import (
    GROUP,
    TEACHER,
    seed_class,
    title,
    voices_of,
)

pytestmark = pytest.mark.timeout(150)

PARENTS = [9101 + i for i in range(6)]
# A lease is 30 s (bot/service/filing.py), renewed every 10 s.
LEASE_PATIENCE_S = 50.0
# Prepared elsewhere, a recording still goes out within seconds: the holder
# hears of it at once (the publisher's idle wait is 30 s).
PUBLISH_PATIENCE_S = 15.0


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    async with running_fake_api(FakeTelegram(limits=Limits(per_private_burst=3))) as api:
        yield api


class Gate:
    """An ffmpeg for one process: says it started (its pid in ``started``),
    then waits for the test to open the gate before running the real one."""

    def __init__(self, folder: Path, name: str) -> None:
        self.started = folder / f"{name}.started"
        self.go = folder / f"{name}.go"
        self.exe = folder / f"ffmpeg-{name}"
        real = imageio_ffmpeg.get_ffmpeg_exe()
        self.exe.write_text(
            "#!/bin/sh\n"
            f'echo "$$" >> "{self.started}"\n'
            f'while [ ! -e "{self.go}" ]; do sleep 0.05; done\n'
            f'exec "{real}" "$@"\n',
            encoding="utf-8",
        )
        self.exe.chmod(0o755)

    def working(self) -> bool:
        return self.started.exists()

    def open(self) -> None:
        self.go.touch()

    def end(self) -> None:
        """Opened: an ffmpeg a killed process left waiting runs and ends."""
        self.open()


def config(path: Path, url: str, data: Path, fake: FakeTelegram, slots: int = 2) -> Path:
    return write_config(
        path,
        data,
        database=url,
        telegram={"token": fake.token, "api_url": fake.url},
        audio={"max_concurrency": slots},
    )


async def start_with(
    service: ServiceProcess, monkeypatch: pytest.MonkeyPatch, gate: Gate | None
) -> None:
    """Started with the gated ffmpeg (``IMAGEIO_FFMPEG_EXE``), or the real one."""
    with monkeypatch.context() as env:
        if gate is not None:
            env.setenv("IMAGEIO_FFMPEG_EXE", str(gate.exe))
        await service.start()


def preparers(url: str) -> dict[str, tuple[str, int | None, int | None]]:
    """Each recording's title: (state, pid that converted it, pid claiming it)."""

    def pid(process: str | None) -> int | None:
        return int(process.rsplit(":", 1)[1]) if process else None

    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT title, state, prepared_by, claimed_by FROM recordings ORDER BY id"
        ).fetchall()
    return {r[0]: (r[1], pid(r[2]), pid(r[3])) for r in rows}


def answers(fake: FakeTelegram, n: int) -> int:
    """The teacher's answers about recording ``n`` ("Rangé dans l'album…")."""
    return sum(
        1
        for m in fake.messages_to(GROUP["id"])
        if m.method == "sendMessage"
        and title(n) in str(m.params.get("text", ""))
        and "Rangé" in str(m.params.get("text", ""))
    )


def everyone_has(fake: FakeTelegram, recordings: int) -> bool:
    return all(voices_of(fake, p, n) for p in PARENTS for n in range(recordings))


async def settle() -> None:
    """Anything sent twice would show by now."""
    await asyncio.sleep(1.5)


async def test_recordings_are_converted_by_processes_not_holding_the_bot(
    fake: FakeTelegram,
    postgres: PostgresServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url = postgres.fresh_database()
    await seed_class(url, parents=PARENTS)
    data = tmp_path / "data"
    gate = Gate(tmp_path, "holder")
    holder = ServiceProcess(
        config(tmp_path / "holder.toml", url, data, fake, slots=1), tmp_path / "holder.log"
    )
    others = [
        ServiceProcess(config(tmp_path / f"p{i}.toml", url, data, fake), tmp_path / f"p{i}.log")
        for i in range(2)
    ]
    services = [holder, *others]
    voice = sample("loup_groupe3_voice.ogg").read_bytes()
    async with stopped_after(services, gate.end):
        await start_with(holder, monkeypatch, gate)
        await until(lambda: holder_pid(url) == holder.pid, "the first process runs the bot")
        bot_pid = holder.pid
        for service in others:
            await start_with(service, monkeypatch, None)
        for n in range(3):
            fake.push_media(GROUP, TEACHER, "voice", voice, mime="audio/ogg", caption=title(n))
        await until(gate.working, "the holder converting one recording")
        other_pids = {s.pid for s in others}

        def converted_elsewhere() -> list[int | None]:
            return [who for _, who, _ in preparers(url).values() if who in other_pids]

        # The holder's one slot is taken (its ffmpeg waits): the two others
        # are converted by the processes not holding the bot, answered to
        # the teacher through the bot and sent to the families meanwhile.
        await until(lambda: len(converted_elsewhere()) == 2, "two converted elsewhere", 40)
        await until(lambda: len([n for n in range(3) if answers(fake, n)]) == 2, "two answered")
        done = [n for n in range(3) if answers(fake, n)]
        await until(
            lambda: all(voices_of(fake, p, n) for p in PARENTS for n in done),
            "those two delivered while the holder's ffmpeg still waits",
            PUBLISH_PATIENCE_S,
        )
        assert not gate.go.exists()
        gate.open()
        await until(lambda: everyone_has(fake, 3), "every recording to every family", 40)
        await settle()
        prepared = preparers(url)

    print(f"\nconverted by (pid): { {t: who for t, (_, who, _) in prepared.items()} }")
    assert [who for _, who, _ in prepared.values()].count(bot_pid) == 1
    assert all(state == "published" for state, _, _ in prepared.values())
    assert [answers(fake, n) for n in range(3)] == [1, 1, 1]
    assert all(voices_of(fake, p, n) == 1 for p in PARENTS for n in range(3))


async def test_a_conversion_killed_mid_way_is_taken_over_once(
    fake: FakeTelegram,
    postgres: PostgresServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url = postgres.fresh_database()
    await seed_class(url, parents=PARENTS)
    data = tmp_path / "data"
    holder_gate, doomed_gate = Gate(tmp_path, "holder"), Gate(tmp_path, "doomed")
    holder = ServiceProcess(
        config(tmp_path / "holder.toml", url, data, fake, slots=1), tmp_path / "holder.log"
    )
    doomed = ServiceProcess(
        config(tmp_path / "doomed.toml", url, data, fake, slots=1), tmp_path / "doomed.log"
    )
    heir = ServiceProcess(config(tmp_path / "heir.toml", url, data, fake), tmp_path / "heir.log")
    services = [holder, doomed, heir]
    voice = sample("loup_groupe3_voice.ogg").read_bytes()
    loop = asyncio.get_running_loop()
    async with stopped_after(services, holder_gate.end, doomed_gate.end):
        await start_with(holder, monkeypatch, holder_gate)
        await until(lambda: holder_pid(url) == holder.pid, "the first process runs the bot")
        bot_pid, heir_pid = holder.pid, None
        await start_with(doomed, monkeypatch, doomed_gate)
        fake.push_media(GROUP, TEACHER, "voice", voice, mime="audio/ogg", caption=title(0))
        await until(holder_gate.working, "the holder converting recording 0")
        fake.push_media(GROUP, TEACHER, "voice", voice, mime="audio/ogg", caption=title(1))
        await until(doomed_gate.working, "the other process converting recording 1")
        assert preparers(url)[title(1)] == ("processing", None, doomed.pid)
        # The operator's status says which process converts each recording.
        status = json.loads(await admin(tmp_path / "holder.toml", "status"))
        working = {row["process"].rsplit(":", 1)[1] for row in status["preparing"]}
        assert working == {str(holder.pid), str(doomed.pid)}
        doomed_pid = doomed.pid
        await doomed.kill()
        killed_at = loop.time()
        # A third process, with a free slot and a real ffmpeg, takes the job
        # over once the dead one's lease has passed; the holder's slot is
        # still taken.
        await start_with(heir, monkeypatch, None)
        heir_pid = heir.pid
        await until(
            lambda: preparers(url)[title(1)][1] == heir.pid,
            "recording 1 converted by the heir",
            LEASE_PATIENCE_S,
        )
        taken_over_s = loop.time() - killed_at
        await until(lambda: answers(fake, 1) >= 1, "the teacher told about recording 1")
        holder_gate.open()
        await until(lambda: everyone_has(fake, 2), "both recordings to every family", 40)
        await settle()
        prepared = preparers(url)

    print(f"\nrecording 1 taken over {taken_over_s:.1f} s after its converter's SIGKILL")
    assert prepared[title(0)][:2] == ("published", bot_pid)
    assert prepared[title(1)][:2] == ("published", heir_pid)
    assert doomed_pid not in {who for _, who, _ in prepared.values()}
    assert [answers(fake, n) for n in range(2)] == [1, 1]
    assert all(voices_of(fake, p, n) == 1 for p in PARENTS for n in range(2))
