"""One recording to 1,000 families by e-mail: the service against a bare
aiosmtplib loop, into the same local SMTP server.

``python -m bench.email_fanout [--families N]``

Measured path: the real service. A :class:`bot.app.Service` with the
EmailAdapter; the N families are e-mail guardians subscribed through the
repositories; one prepared recording is published by the publisher, and the
e-mail delivery worker drains the outbox: each delivery read, composed (the
consent rule asked, the family's links), turned into MIME and sent through
the adapter's pool of SMTP connections, then marked sent. Wall time runs
from the publish to the last message the server accepted.

Baseline, same run: a bare loop with the same concurrency (16 connections,
as many as the adapter's pool), building the same MIME messages and
sending them with aiosmtplib. Both talk to one aiosmtpd server running in its
own process, so that it does not share this process's interpreter.

The service makes a fan-out's MIME once and fills in each family's links
(adapters/email/letter_templates.py), which the bare loop above does not.
So a second, stricter baseline is reported too (not the goal): the bare
loop sending the very bytes those templates give, which leaves only what
the outbox and its worker cost.

The machine is shared: one pair of runs can be off by 50 % either way. So
the two alternate over several rounds (service first, then bare first, ...)
and the ratio is that of their medians; each round is printed too. Also
printed, per e-mail: database round trips and CPU time of this process
(building MIME and talking SMTP are in both; the rest is the service's).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import multiprocessing
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from statistics import median
from typing import Any

import aiosmtplib

from adapters.email import EmailAdapter, SmtpSettings, mime
from adapters.email.devkit import free_port
from adapters.email.letter_templates import LetterTemplates
from bot.app import Service
from bot.config import settings_from_mapping
from bot.ports import Link, OutboundMessage
from tests.seeding import class_with_held_recording

SENDER = "Petites Voix <voix@example.org>"
PUBLIC = "https://voix.example.org"
CONNECTIONS = 16  # SMTP connections, the service's pool and the bare loop alike


# --------------------------------------------------------------------------
# The SMTP server, in a process of its own
# --------------------------------------------------------------------------


def _serve(port: int, count: Any, ready: Any, stop: Any) -> None:
    from aiosmtpd.controller import Controller

    class Counter:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            with count.get_lock():
                count.value += len(envelope.rcpt_tos)
            return "250 Message accepted"

    controller = Controller(Counter(), hostname="127.0.0.1", port=port)
    controller.start()
    ready.set()
    stop.wait()
    controller.stop()


class SmtpProcess:
    def __init__(self) -> None:
        ctx = multiprocessing.get_context("spawn")
        self.port = free_port()
        self.count = ctx.Value("i", 0)
        self._ready = ctx.Event()
        self._stop = ctx.Event()
        self._process = ctx.Process(
            target=_serve, args=(self.port, self.count, self._ready, self._stop), daemon=True
        )

    def __enter__(self) -> SmtpProcess:
        self._process.start()
        if not self._ready.wait(30):
            raise RuntimeError("the SMTP server did not start")
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._process.join(10)

    def received(self) -> int:
        return int(self.count.value)


def _peak_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _reset_peak() -> None:
    """Start VmHWM again from the current RSS (Linux: clear_refs 5)."""
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


@dataclass
class Run:
    wall_s: float
    sent: int
    peak_mb: float = 0.0
    cpu_s: float = 0.0  # this process's CPU time during the run
    queries: int = 0  # database round trips during the run


async def _wait_for(server: SmtpProcess, total: int, deadline_s: float) -> float:
    start = time.monotonic()
    while server.received() < total:
        if time.monotonic() - start > deadline_s:
            raise RuntimeError(f"only {server.received()} of {total} e-mails arrived")
        await asyncio.sleep(0.005)
    return time.monotonic()


# --------------------------------------------------------------------------
# The service: publisher, outbox, e-mail delivery worker
# --------------------------------------------------------------------------


async def _page(child_id: int) -> str:
    return f"{PUBLIC}/f/famille-{child_id}"


async def service_fan_out(server: SmtpProcess, families: int) -> Run:
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        settings = settings_from_mapping(
            {
                "storage": {"data_dir": str(data)},
                "web": {"public_url": PUBLIC, "listen": f"127.0.0.1:{free_port()}"},
                "schedule": {"quiet_hours": ""},
                "delivery": {"grace_seconds": 0},
            },
            {},
            data,
        )
        adapter = EmailAdapter(
            SmtpSettings("127.0.0.1", server.port, SENDER, connections=CONNECTIONS),
            rate_per_minute=10_000_000,  # the relay's limit is not what is measured
        )
        service = await Service.create(settings, {"email": adapter}, page_url=_page)
        try:
            addresses = [f"famille{i:05d}@example.org" for i in range(families)]
            rec_id = await class_with_held_recording(service.ctx, addresses, platform="email")
            await service.start()
            before = server.received()
            _reset_peak()
            db = service.ctx.repos.db
            queries, cpu = db.queries, time.process_time()
            start = time.monotonic()
            assert await service.ctx.repos.recordings.release_held(rec_id, service.ctx.clock.now())
            service.ctx.wake.publisher.set()
            end = await _wait_for(server, before + families, 120)
            cpu, queries = time.process_time() - cpu, db.queries - queries
            peak = _peak_mb()
            # The server counts a message before the service has marked it
            # sent: the last marks land just after (not timed).
            for _ in range(300):
                sent = (await service.ctx.repos.deliveries.counts_by_state())["sent"]
                if sent >= families:
                    break
                await asyncio.sleep(0.01)
        finally:
            await service.stop()
    return Run(end - start, sent, peak, cpu, queries)


# --------------------------------------------------------------------------
# The baseline: a bare aiosmtplib loop, same concurrency, same messages
# --------------------------------------------------------------------------


def _message(address: str, n: int) -> OutboundMessage:
    page = f"{PUBLIC}/f/famille-{n}"
    return OutboundMessage(
        chat_id=address,
        text=(
            "Bonjour,\n\nLa classe Moyens (École des Oliviers) a publié un nouvel enregistrement "
            "dans l'album « Le loup qui voulait changer de couleur ». Il s'écoute sur la page "
            "de votre famille :"
        ),
        idempotency_key=f"pv-delivery-{n}",
        subject="Moyens : nouvel enregistrement, « Groupe 1 »",
        links=(Link("Groupe 1", f"{page}#r1", "10 s"),),
        settings_url=f"{page}#reglages",
        unsubscribe_url=f"{PUBLIC}/e/desinscription/{n}-abcdefghijklmnopqrstuv",
    )


async def bare_fan_out(server: SmtpProcess, families: int, templates: bool = False) -> Run:
    """``templates``: send the bytes the service's templates make."""
    queue: asyncio.Queue[int] = asyncio.Queue()
    made = LetterTemplates(SENDER)
    for n in range(families):
        queue.put_nowait(n)
    before = server.received()

    async def sender() -> None:
        client = aiosmtplib.SMTP(hostname="127.0.0.1", port=server.port, start_tls=False)
        await client.connect()
        try:
            while not queue.empty():
                n = queue.get_nowait()
                address = f"famille{n:05d}@example.org"
                message = _message(address, n)
                if templates:
                    composed = made.compose(message, datetime.now(UTC))
                    assert composed is not None
                    await client.sendmail(SENDER, [address], composed.data)
                    continue
                mail = mime.build(message, SENDER, datetime.now(UTC))
                await client.send_message(mail, sender=SENDER, recipients=[address])
        finally:
            await client.quit()

    cpu = time.process_time()
    start = time.monotonic()
    await asyncio.gather(*(sender() for _ in range(CONNECTIONS)))
    end = await _wait_for(server, before + families, 120)
    return Run(end - start, server.received() - before, cpu_s=time.process_time() - cpu)


# --------------------------------------------------------------------------


async def measure(server: SmtpProcess, families: int, rounds: int) -> list[dict[str, Any]]:
    ours: list[Run] = []
    bare: list[Run] = []
    made: list[Run] = []  # the bare loop sending the templates' bytes
    for n in range(rounds):
        if n % 2 == 0:
            ours.append(await service_fan_out(server, families))
            bare.append(await bare_fan_out(server, families))
            made.append(await bare_fan_out(server, families, templates=True))
        else:
            made.append(await bare_fan_out(server, families, templates=True))
            bare.append(await bare_fan_out(server, families))
            ours.append(await service_fan_out(server, families))
    wall, base = median(r.wall_s for r in ours), median(r.wall_s for r in bare)
    made_wall = median(r.wall_s for r in made)
    rows: list[dict[str, Any]] = [
        {
            "figure": f"wall time, {families} e-mails, median of {rounds} (s)",
            "goal": "<= 1.2 x bare loop",
            "measured": round(wall, 2),
            "baseline": round(base, 2),
            "ratio": round(wall / base, 3),
        },
    ]
    rows.append(
        {
            "figure": "  against bare loop sending same bytes",
            "goal": "report",
            "measured": round(wall, 2),
            "baseline": round(made_wall, 2),
            "ratio": round(wall / made_wall, 3),
        }
    )
    for n, (o, b) in enumerate(zip(ours, bare, strict=True), 1):
        rows.append(
            {
                "figure": f"  round {n} wall time (s)",
                "goal": "report",
                "measured": round(o.wall_s, 2),
                "baseline": round(b.wall_s, 2),
                "ratio": round(o.wall_s / b.wall_s, 3),
            }
        )
    cpu, base_cpu = median(r.cpu_s for r in ours), median(r.cpu_s for r in bare)
    made_cpu = median(r.cpu_s for r in made)
    rows += [
        {
            "figure": "CPU per e-mail, this process (ms)",
            "goal": "report",
            "measured": round(1000 * cpu / families, 2),
            "baseline": round(1000 * base_cpu / families, 2),
            "ratio": round(cpu / base_cpu, 3),
        },
        {
            "figure": "  against bare loop sending same bytes",
            "goal": "report",
            "measured": round(1000 * cpu / families, 2),
            "baseline": round(1000 * made_cpu / families, 2),
            "ratio": round(cpu / made_cpu, 3),
        },
        {
            "figure": "database round trips per e-mail",
            "goal": "report",
            "measured": round(median(r.queries for r in ours) / families, 2),
            "baseline": None,
            "ratio": None,
        },
        {
            "figure": "e-mails delivered (each round)",
            "goal": families,
            "measured": min(r.sent for r in ours),
            "baseline": min(r.sent for r in bare),
            "ratio": None,
        },
        {
            "figure": "service peak RSS during fan-out (MB)",
            "goal": "report",
            "measured": round(max(r.peak_mb for r in ours), 1),
            "baseline": None,
            "ratio": None,
        },
    ]
    return rows


def run(families: int = 1000, rounds: int = 3) -> list[dict[str, Any]]:
    with SmtpProcess() as server:
        return asyncio.run(measure(server, families, rounds))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--families", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3, help="service and bare runs, alternated")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    print("E-mail fan-out: one recording to every family (service delivery worker)")
    for r in run(args.families, args.rounds):
        ratio = "" if r["ratio"] is None else r["ratio"]
        print(
            f"{r['figure']:<40} {r['goal']!s:>22} {r['measured']!s:>10} "
            f"{r['baseline']!s:>10} {ratio}"
        )


if __name__ == "__main__":
    main()
