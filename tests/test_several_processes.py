"""Three real service processes (``python -m bot run``) on one PostgreSQL
database and the local Bot API server: one of them runs the bot, the others
wait. The teacher posts recordings to a class of 60 families; the process
running the bot is killed with SIGKILL in the middle of a fan-out; another
takes the bot over (the time it took is printed) and every recording
reaches every family, none lost. A send that was on its way at the kill may
arrive twice (Telegram has no idempotency key): at most one per family, and
counted.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator, Iterator, Sequence
from pathlib import Path

import pytest

from adapters.email.devkit import SmtpServer, free_port
from bot.clock import SystemClock
from storage.db import Database
from storage.repos import Repositories
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

pytestmark = pytest.mark.timeout(150)

TEACHER_ID = 501
TEACHER = FakeTelegram.user(TEACHER_ID, "Claire", "Martin")
GROUP = FakeTelegram.chat(-4001, "Moyens")
PARENTS = [9001 + i for i in range(60)]
RECORDINGS = 3
TAKEOVER_LIMIT_S = 30.0


def title(n: int) -> str:
    return f"Essai {n:02d}"


def voices_of(fake: FakeTelegram, chat_id: int, n: int) -> int:
    pattern = re.compile(rf"\b{re.escape(title(n))}\b")
    return sum(
        1
        for m in fake.messages_to(chat_id)
        if m.method in ("sendVoice", "sendAudio") and pattern.search(str(m.params.get("caption")))
    )


def filed(fake: FakeTelegram) -> int:
    """Recordings the teacher was told are filed (prepared, going out)."""
    return sum(1 for m in fake.messages_to(GROUP["id"]) if "Essai" in str(m.params.get("text", "")))


async def seed_class(url: str, emails: int = 0, parents: Sequence[int] = PARENTS) -> None:
    """A class whose teacher made the group its channel, a family for each
    of ``parents`` subscribed with the paper consent signed (the invitation
    steps have their own tests); ``emails`` more families by e-mail, one
    message per recording."""
    db = await Database.open(url)
    try:
        repos, now = Repositories.over(db), SystemClock().now()
        school = await repos.schools.ensure_school("École des Oliviers", now)
        klass = await repos.schools.ensure_class(school.id, "Moyens", "4 16:30", now)
        await repos.staff.add_teacher(
            klass.id, "telegram", str(TEACHER_ID), str(TEACHER_ID), "Claire", "teacher", now
        )
        await repos.staff.bind_channel(klass.id, "telegram", str(GROUP["id"]), now)
        await repos.albums.make_current(klass.id, "Le loup", "le loup", now)
        for i, parent in enumerate(parents):
            name = f"Enfant{i:02d}"
            child, _ = await repos.families.ensure_child(klass.id, name, name.lower(), now)
            await repos.families.set_consent(child.id, True, now)
            guardian = await repos.families.upsert_guardian(
                "telegram", str(parent), str(parent), now
            )
            await repos.families.subscribe(guardian.id, child.id, klass.id, now)
        for i in range(emails):
            name = f"Courriel{i:02d}"
            child, _ = await repos.families.ensure_child(klass.id, name, name.lower(), now)
            await repos.families.set_consent(child.id, True, now)
            address = address_of(i)
            guardian = await repos.families.upsert_guardian("email", address, address, now)
            await repos.families.subscribe(guardian.id, child.id, klass.id, now)
    finally:
        await db.close()


def address_of(i: int) -> str:
    return f"famille{i:02d}@example.org"


def letters_of(server: SmtpServer, i: int, n: int) -> int:
    """E-mails naming recording ``n`` that family ``i`` received."""
    return sum(title(n) in str(r.mail["Subject"]) for r in server.relay.to(address_of(i)))


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    async with running_fake_api(FakeTelegram(limits=Limits(per_private_burst=3))) as api:
        yield api


async def test_three_processes_one_bot_taken_over_after_sigkill(
    fake: FakeTelegram, postgres: PostgresServer, tmp_path: Path
) -> None:
    url = postgres.fresh_database()
    await seed_class(url)
    data = tmp_path / "data"  # one data dir, as on a shared volume
    config = write_config(
        tmp_path / "petites-voix.toml",
        data,
        database=url,
        telegram={"token": fake.token, "api_url": fake.url},
    )
    services = [ServiceProcess(config, tmp_path / f"service{i}.log") for i in range(3)]
    voice = sample("loup_groupe3_voice.ogg").read_bytes()
    loop = asyncio.get_running_loop()
    async with stopped_after(services):
        for service in services:
            await service.start()
        pids = {s.pid for s in services}
        await until(lambda: holder_pid(url) in pids, "one process runs the bot")
        first = next(s for s in services if s.pid == holder_pid(url))
        # Only the holder connected to the bot (each connection starts with getMe).
        assert sum(c.method == "getMe" for c in fake.calls) == 1
        for n in range(RECORDINGS):
            fake.push_media(GROUP, TEACHER, "voice", voice, mime="audio/ogg", caption=title(n))
        await until(lambda: filed(fake) >= RECORDINGS, "every recording filed", wait_s=40)

        # Killed while the families receive recording 1 (some have it, not all).
        def mid_fan_out() -> bool:
            return sum(voices_of(fake, p, 1) > 0 for p in PARENTS) >= 10

        await until(mid_fan_out, "the fan-out under way", wait_s=30)
        killed_pid = first.pid
        await first.kill()
        killed_at = loop.time()
        served_at_kill = sum(voices_of(fake, p, n) > 0 for p in PARENTS for n in range(RECORDINGS))
        assert served_at_kill < len(PARENTS) * RECORDINGS, "the kill came after the fan-out"
        await until(
            lambda: holder_pid(url) not in (None, killed_pid),
            "another process takes the bot over",
            wait_s=TAKEOVER_LIMIT_S,
        )
        takeover_s = loop.time() - killed_at
        # The operator's status names the new holder (host:pid), alive.
        status = json.loads(await admin(config, "status"))
        (account,) = [a for a in status["accounts"] if a["account"].startswith("telegram:")]
        assert account["pid"] == holder_pid(url) != killed_pid
        assert account["alive"] is True
        assert account["pid"] in {s.pid for s in services if s is not first}
        await until(
            lambda: all(voices_of(fake, p, n) for p in PARENTS for n in range(RECORDINGS)),
            "every recording to every family",
            wait_s=40,
        )
        delivered_s = loop.time() - killed_at
        await asyncio.sleep(1.0)  # anything sent twice would show by now
        # Counted before the stops: stopping the holder hands the bot on.
        connections = sum(c.method == "getMe" for c in fake.calls)

    counts = {(p, n): voices_of(fake, p, n) for p in PARENTS for n in range(RECORDINGS)}
    lost = [key for key, count in counts.items() if count == 0]
    duplicates = sum(count - 1 for count in counts.values() if count > 1)
    print(
        f"\nthree processes, {len(PARENTS)} families x {RECORDINGS} recordings: "
        f"bot taken over {takeover_s:.1f} s after the SIGKILL of its holder, everything "
        f"delivered {delivered_s:.1f} s after it; {sum(counts.values())} voice notes, "
        f"{duplicates} duplicate(s), {len(lost)} lost, 429s: {fake.rate_limited_count}"
    )
    assert lost == []
    assert takeover_s < TAKEOVER_LIMIT_S
    # A send on its way at the kill may arrive twice; never more, never two
    # processes sending at once (that would give duplicates beyond the kill).
    assert max(counts.values()) <= 2
    per_family = {p: sum(counts[p, n] - 1 for n in range(RECORDINGS)) for p in PARENTS}
    assert max(per_family.values()) <= 1
    assert fake.rate_limited_count == 0
    # One connection before the kill, one by the process that took over.
    assert connections == 2


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


async def test_the_email_sender_is_taken_over_after_sigkill(
    fake: FakeTelegram, smtp: SmtpServer, postgres: PostgresServer, tmp_path: Path
) -> None:
    families = 30
    url = postgres.fresh_database()
    await seed_class(url, emails=families)
    data = tmp_path / "data"
    services = []
    for i in range(3):  # the same settings, each process its own web port
        config = write_config(
            tmp_path / f"petites-voix-{i}.toml",
            data,
            database=url,
            telegram={"token": fake.token, "api_url": fake.url},
            web={"public_url": "https://voix.example.org", "listen": f"127.0.0.1:{free_port()}"},
            email={
                "sender": "Petites Voix <voix@example.org>",
                "smtp_host": "127.0.0.1",
                "smtp_port": smtp.port,
                "rate_per_minute": 600,
            },
        )
        services.append(ServiceProcess(config, tmp_path / f"service{i}.log"))
    voice = sample("loup_groupe3_voice.ogg").read_bytes()
    loop = asyncio.get_running_loop()
    recordings = 2
    async with stopped_after(services):
        for service in services:
            await service.start()
        pids = {s.pid for s in services}
        await until(lambda: holder_pid(url, "email") in pids, "one process runs the e-mail")
        holder = next(s for s in services if s.pid == holder_pid(url, "email"))
        for n in range(recordings):
            fake.push_media(GROUP, TEACHER, "voice", voice, mime="audio/ogg", caption=title(n))
        await until(lambda: filed(fake) >= recordings, "every recording filed", wait_s=40)
        await until(
            lambda: sum(letters_of(smtp, i, 1) > 0 for i in range(families)) >= 5,
            "the e-mails of recording 1 going out",
            wait_s=30,
        )
        killed_pid = holder.pid
        await holder.kill()
        killed_at = loop.time()
        sent_at_kill = sum(
            letters_of(smtp, i, n) > 0 for i in range(families) for n in range(recordings)
        )
        assert sent_at_kill < families * recordings, "the kill came after the fan-out"
        await until(
            lambda: holder_pid(url, "email") not in (None, killed_pid),
            "another process takes the e-mail over",
            wait_s=TAKEOVER_LIMIT_S,
        )
        takeover_s = loop.time() - killed_at
        await until(
            lambda: all(letters_of(smtp, i, n) for i in range(families) for n in range(recordings)),
            "every e-mail to every family",
            wait_s=40,
        )
        await asyncio.sleep(1.0)

    counts = {(i, n): letters_of(smtp, i, n) for i in range(families) for n in range(recordings)}
    duplicates = sum(c - 1 for c in counts.values() if c > 1)
    print(
        f"\nthree processes, e-mail: sender taken over {takeover_s:.1f} s after the SIGKILL of "
        f"its holder; {sum(counts.values())} e-mails for {families} families x {recordings} "
        f"recordings, {duplicates} duplicate(s)"
    )
    assert takeover_s < TAKEOVER_LIMIT_S
    assert min(counts.values()) >= 1
    per_family = {i: sum(counts[i, n] - 1 for n in range(recordings)) for i in range(families)}
    assert max(per_family.values()) <= 1
