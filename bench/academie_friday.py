"""A Friday afternoon in an académie: every class posts at once, one
Telegram bot, one process against three, in the same run.

``python -m bench.academie_friday [--classes N] [--families N]``

Measured path: the real service, ``python -m bot run`` processes on one
PostgreSQL database (the tests' server, started here in a temporary
directory) and the local Bot API server of the tests at Telegram's real
limits (30 messages/s for the bot, 1/s per private chat). The classes and
their families are written through the repositories, each class with one
prepared recording due at the same instant; the process running the bot
publishes them and sends every family its recording. Wall time runs from
that instant to the last accepted send.

Baseline, same run: one process. Three processes run the bot in one of them
(the others wait to take it over): the figures show that several processes
add availability, not speed, for one bot. The floor is what the bot's rate
allows: messages / rate.

Second scenario, the issue's Friday digests (``--digest-classes``,
``--digest-families``, ``--recordings``): every family on the weekly rhythm,
each class with a week of prepared recordings (real audio, so the compiled
recording is real ffmpeg work), the class's weekly digest time one minute
ahead; one process sends every family its digest. Figures: wall time from
the digest time to the last accepted send against the floor (messages /
rate), and messages per digest. The issue's scale is 800 classes x 25
families (20,000 guardians: about 40,000 messages, over 20 minutes at
30/s); the default is smaller, the rates and ratios are the same.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import psycopg

from adapters.telegram import TelegramAdapter
from bot.clock import SystemClock
from storage.db import Database
from storage.media import LocalMediaStore
from storage.repos import Repositories
from storage.repos.recordings import NewRecording, ProcessedFiles
from tests.core.harness import sample
from tests.postgres_server import PostgresServer
from tests.telegram_api import FakeTelegram, running_fake_api

REPO = Path(__file__).resolve().parents[1]
VOICE_BYTES = 40_000
FIRST_CHAT = 100_000
START_AHEAD_S = 15.0  # the recordings fall due once every process is up
DIGEST_AHEAD_S = 40.0  # the weekly digest time, once the week is seeded and the process up
PARIS = ZoneInfo("Europe/Paris")
SEEDING = "6 03:00"  # a class's weekly slot while the week is seeded
SAMPLE_VOICE = sample("loup_groupe3_voice.ogg").read_bytes()


@dataclass
class Run:
    processes: int
    messages: int
    wall_s: float
    rate_limited: int
    sent_twice: int


async def _family(repos: Repositories, class_id: int, chat: int, now: datetime) -> int:
    """One family on Telegram, its child's consent signed; its guardian's id."""
    name = f"Enfant{chat}"
    child, _ = await repos.families.ensure_child(class_id, name, name.lower(), now)
    await repos.families.set_consent(child.id, True, now)
    guardian = await repos.families.upsert_guardian("telegram", str(chat), str(chat), now)
    await repos.families.subscribe(guardian.id, child.id, class_id, now)
    return guardian.id


async def _prepared(
    repos: Repositories,
    class_id: int,
    album_id: int,
    title: str,
    class_no: int,
    message_no: int,
    files: ProcessedFiles,
    publish_at: datetime,
    now: datetime,
) -> None:
    """A recording the teacher posted, already prepared, published at ``publish_at``."""
    rec = await repos.recordings.create(
        NewRecording(
            album_id=album_id,
            class_id=class_id,
            title=title,
            platform="telegram",
            source_chat_id=str(-5000 - class_no),
            source_message_id=str(message_no),
            attachment_ref="unused",
            attachment_kind="voice",
            posted_by="telegram:501",
            is_private=False,
            private_child_id=None,
            tagged_child_ids=(),
        ),
        now,
    )
    assert rec is not None
    assert await repos.recordings.set_processed(rec.id, files, "held", None)
    assert await repos.recordings.release_held(rec.id, publish_at)


def _config(path: Path, data: Path, url: str, fake: FakeTelegram) -> Path:
    path.write_text(
        f'[storage]\ndata_dir = "{data}"\ndatabase = "{url}"\n\n'
        f'[telegram]\ntoken = "{fake.token}"\napi_url = "{fake.url}"\n\n'
        '[schedule]\nquiet_hours = ""\n\n[delivery]\ngrace_seconds = 0\n',
        encoding="utf-8",
    )
    return path


async def _run(config: Path, log: Path) -> asyncio.subprocess.Process:
    """One ``petites-voix run`` process, its stderr in ``log``."""
    with log.open("ab") as err:
        return await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "run",
            "--config",
            str(config),
            cwd=REPO,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=err,
        )


async def seed(url: str, data: Path, classes: int, families: int, due_in_s: float) -> float:
    """Classes with their families and one prepared recording each, due
    ``due_in_s`` from now; returns that instant (monotonic clock)."""
    db = await Database.open(url)
    try:
        repos, now = Repositories.over(db), SystemClock().now()
        media = LocalMediaStore(data / "media")
        voice = await media.put_bytes(b"OggS" + os.urandom(VOICE_BYTES - 4))
        compat = await media.put_bytes(os.urandom(VOICE_BYTES))
        due = now + timedelta(seconds=due_in_s)
        due_mono = time.monotonic() + due_in_s
        school = await repos.schools.ensure_school("Académie", now)
        chat = FIRST_CHAT
        for c in range(classes):
            klass = await repos.schools.ensure_class(school.id, f"Classe {c:03d}", "4 16:30", now)
            for _ in range(families):
                await _family(repos, klass.id, chat, now)
                chat += 1
            album, _ = await repos.albums.make_current(klass.id, "Le loup", "le loup", now)
            files = ProcessedFiles(voice, voice, compat, "audio/mpeg", 10.0, ())
            await _prepared(repos, klass.id, album.id, f"Groupe {c}", c, 1, files, due, now)
        return due_mono
    finally:
        await db.close()


async def friday(
    postgres: PostgresServer, processes: int, classes: int, families: int, root: Path
) -> Run:
    url = postgres.fresh_database()
    data = root / f"data{processes}"
    async with running_fake_api(FakeTelegram()) as fake:
        config = _config(root / f"pv{processes}.toml", data, url, fake)
        due = await seed(url, data, classes, families, START_AHEAD_S)
        procs = []
        try:
            for i in range(processes):
                procs.append(await _run(config, root / f"run{processes}-{i}.log"))
            messages = classes * families
            deadline = time.monotonic() + START_AHEAD_S + 10 * messages / 25 + 60
            while len(_sent(fake)) < messages:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"not every family was served in time ({processes} proc.)")
                await asyncio.sleep(0.2)
            await asyncio.sleep(1.0)  # a second process sending would show by now
            sent = _sent(fake)
            wall = max(sent) - due
        finally:
            for proc in procs:
                proc.terminate()
            for proc in procs:
                await proc.wait()
        chats = [c.chat_id for c in fake.calls_to("sendVoice") if c.status == 200]
        return Run(
            processes=processes,
            messages=messages,
            wall_s=wall,
            rate_limited=fake.rate_limited_count,
            sent_twice=len(chats) - len(set(chats)),
        )


@dataclass
class DigestRun:
    digests: int
    messages: int
    wall_s: float
    rate_limited: int


def _next_minute(ahead_s: float) -> datetime:
    """The first whole minute at least ``ahead_s`` from now (Paris time)."""
    start = datetime.now(PARIS) + timedelta(seconds=ahead_s)
    return start.replace(second=0, microsecond=0) + timedelta(minutes=1)


async def seed_week(url: str, data: Path, classes: int, families: int, recordings: int) -> datetime:
    """Weekly families, a week of prepared recordings per class, published
    now; every class's weekly digest at the returned instant."""
    db = await Database.open(url)
    try:
        repos, now = Repositories.over(db), SystemClock().now()
        media = LocalMediaStore(data / "media")
        school = await repos.schools.ensure_school("Académie", now)
        chat = FIRST_CHAT
        class_ids = []
        for c in range(classes):
            # A slot far from now while seeding (at the scale seeding
            # takes minutes); the real one once the week is seeded.
            klass = await repos.schools.ensure_class(school.id, f"Classe {c:03d}", SEEDING, now)
            class_ids.append(klass.id)
            for _ in range(families):
                guardian_id = await _family(repos, klass.id, chat, now)
                await repos.families.set_frequency(guardian_id, "hebdomadaire")
                chat += 1
            album, _ = await repos.albums.make_current(klass.id, "Le loup", "le loup", now)
            for r in range(recordings):
                # Each class its own audio (a different file per recording), as in life.
                voice = await media.put_bytes(SAMPLE_VOICE + f"{c}-{r}".encode())
                files = ProcessedFiles(voice, voice, voice, "audio/ogg", 4.0, ())
                title = f"Groupe {r + 1}"
                await _prepared(repos, klass.id, album.id, title, c, r + 1, files, now, now)
        at = _next_minute(DIGEST_AHEAD_S)
        for class_id in class_ids:
            await repos.schools.set_weekly_digest(
                class_id, f"{at.weekday()} {at.hour:02d}:{at.minute:02d}"
            )
        return at
    finally:
        await db.close()


async def friday_digests(
    postgres: PostgresServer, classes: int, families: int, recordings: int, root: Path
) -> DigestRun:
    url = postgres.fresh_database()
    data = root / "digests"
    async with running_fake_api(FakeTelegram()) as fake:
        config = _config(root / "digests.toml", data, url, fake)
        at = await seed_week(url, data, classes, families, recordings)
        due_mono = time.monotonic() + (at - datetime.now(PARIS)).total_seconds()
        proc = await _run(config, root / "digests.log")
        try:
            expected = classes * families
            deadline = due_mono + 60 + 10 * expected * 2 / 25 + 120
            while _digests_done(url) < expected:
                if time.monotonic() > deadline:
                    raise RuntimeError("not every digest was sent in time")
                await asyncio.sleep(1.0)
            await asyncio.sleep(1.0)
            sends = [
                c.at
                for c in fake.calls
                if c.status == 200 and c.chat_id and int(c.chat_id) >= FIRST_CHAT
            ]
            # From the first digest message: the planner looks at the clock
            # once a minute, a delay the floor does not count either.
            wall = max(sends) - min(sends)
        finally:
            proc.terminate()
            await proc.wait()
        return DigestRun(
            digests=expected, messages=len(sends), wall_s=wall, rate_limited=fake.rate_limited_count
        )


def _digests_done(url: str) -> int:
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute("SELECT COUNT(*) FROM digests WHERE state = 'sent'").fetchone()
    return int(row[0]) if row else 0


def _sent(fake: FakeTelegram) -> list[float]:
    return [c.at for c in fake.calls_to("sendVoice") if c.status == 200]


async def measure(
    classes: int = 30,
    families: int = 20,
    digest_classes: int = 40,
    digest_families: int = 25,
    recordings: int = 5,
) -> list[dict[str, Any]]:
    root = Path(tempfile.mkdtemp(prefix="pv-friday-"))
    postgres = PostgresServer(Path(tempfile.mkdtemp(prefix="pv-friday-pg-")))
    postgres.start()
    try:
        one = await friday(postgres, 1, classes, families, root)
        three = await friday(postgres, 3, classes, families, root)
        week = await friday_digests(postgres, digest_classes, digest_families, recordings, root)
    finally:
        postgres.stop()
        shutil.rmtree(postgres.root, ignore_errors=True)
        shutil.rmtree(root, ignore_errors=True)
    rate = TelegramAdapter("0:x").capabilities.global_rate_per_s
    floor = one.messages / rate
    week_floor = week.messages / rate
    return [
        {
            "figure": f"wall time, {classes} classes x {families} families (s)",
            "goal": f"~ baseline (floor {floor:.1f} at {rate:g}/s)",
            "measured": round(three.wall_s, 2),
            "baseline": round(one.wall_s, 2),
            "ratio": round(three.wall_s / one.wall_s, 3),
        },
        {
            "figure": "wall time / floor",
            "goal": "<= 1.1",
            "measured": round(three.wall_s / floor, 3),
            "baseline": round(one.wall_s / floor, 3),
            "ratio": None,
        },
        {
            "figure": "429 answers",
            "goal": 0,
            "measured": three.rate_limited,
            "baseline": one.rate_limited,
            "ratio": None,
        },
        {
            "figure": "families served twice",
            "goal": 0,
            "measured": three.sent_twice,
            "baseline": one.sent_twice,
            "ratio": None,
        },
        {
            "figure": (
                f"Friday digests, {week.digests} families, {recordings} recordings "
                "a week: wall time (s)"
            ),
            "goal": f"floor {week_floor:.1f} at {rate:g}/s",
            "measured": round(week.wall_s, 2),
            "baseline": round(week_floor, 2),
            "ratio": round(week.wall_s / week_floor, 3),
        },
        {
            "figure": "digests: wall time / floor",
            "goal": "<= 1.1",
            "measured": round(week.wall_s / week_floor, 3),
            "baseline": None,
            "ratio": None,
        },
        {
            "figure": "messages per digest",
            "goal": "<= 2",
            "measured": round(week.messages / week.digests, 2),
            "baseline": None,
            "ratio": None,
        },
        {
            "figure": "digests: 429 answers",
            "goal": 0,
            "measured": week.rate_limited,
            "baseline": None,
            "ratio": None,
        },
    ]


def run(
    classes: int = 30,
    families: int = 20,
    digest_classes: int = 40,
    digest_families: int = 25,
    recordings: int = 5,
) -> list[dict[str, Any]]:
    return asyncio.run(measure(classes, families, digest_classes, digest_families, recordings))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--classes", type=int, default=30)
    parser.add_argument("--families", type=int, default=20, help="per class")
    parser.add_argument("--digest-classes", type=int, default=40)
    parser.add_argument("--digest-families", type=int, default=25, help="per class")
    parser.add_argument("--recordings", type=int, default=5, help="per class and week")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    print(
        "Friday afternoon: every class posts at once, one bot, 3 processes vs 1;"
        " then the weekly digests"
    )
    rows = run(
        args.classes, args.families, args.digest_classes, args.digest_families, args.recordings
    )
    width = max(len(r["figure"]) for r in rows)
    print(f"{'figure':<{width}}  {'goal':>32}  {'measured':>10}  {'baseline':>10}  ratio")
    for r in rows:
        ratio = "" if r["ratio"] is None else r["ratio"]
        print(
            f"{r['figure']:<{width}}  {r['goal']!s:>32}  {r['measured']!s:>10}  "
            f"{r['baseline']!s:>10}  {ratio}"
        )


if __name__ == "__main__":
    main()
