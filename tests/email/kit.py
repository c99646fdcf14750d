"""A service with a memory platform and e-mail through a real SMTP server on
loopback; families subscribe by e-mail as they would from their page."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path
from typing import Any

from adapters.email import EmailAdapter, SmtpSettings
from adapters.email.devkit import Received, SmtpServer
from bot.config import WebSettings
from bot.service.email_signup import EmailSignup, Subscribed, clean_address
from tests.core.harness import GROUP, Stage, code_in, eventually, settings_for

PUBLIC = "https://voix.example.org"
SENDER = "Petites Voix <voix@example.org>"
TEACHER = "maitresse"
URL = re.compile(r"https://voix\.example\.org/\S+")


async def page_of(child_id: int) -> str:
    return f"{PUBLIC}/f/page-{child_id}"


def email_stage(
    data_dir: Path,
    server: SmtpServer,
    *,
    attach: bool = False,
    rate_per_minute: float = 60_000,
    **smtp: Any,
) -> Stage:
    """``smtp``: more SmtpSettings (TLS, login)."""
    adapter = EmailAdapter(
        SmtpSettings(
            host="127.0.0.1",
            port=server.port,
            sender=SENDER,
            timeout_s=5,
            pause_min_s=0.5,
            **smtp,
        ),
        rate_per_minute=rate_per_minute,
        attach=attach,
    )
    stage = Stage(data_dir, more_adapters={"email": adapter}, page_url=page_of)
    stage.settings = replace(settings_for(data_dir), web=WebSettings(PUBLIC))
    return stage


async def invitation_code(stage: Stage, child: str) -> str:
    """A parent invitation for ``child``, whose paper consent form is signed."""
    await stage.say(TEACHER, f"/consentement {child} oui", chat=GROUP)
    before = len(stage.adapter.texts_to(TEACHER))
    await stage.say(TEACHER, f"/invitation {child}", chat=GROUP)
    return code_in(stage.adapter.texts_to(TEACHER)[before])


async def confirmation_link(stage: Stage, server: SmtpServer, code: str, address: str) -> str:
    target = clean_address(address) or address
    before = len(server.relay.to(target))
    outcome = await EmailSignup(stage.svc.ctx).ask(code, address, "test-client")
    assert outcome == "sent", outcome
    await eventually(lambda: len(server.relay.to(target)) > before)
    mail = server.relay.to(target)[-1]
    links = [u for u in URL.findall(mail.text()) if "/e/confirmer/" in u]
    assert len(links) == 1, mail.text()
    return links[0]


async def subscribe_by_email(stage: Stage, server: SmtpServer, child: str, *addresses: str) -> None:
    code = await invitation_code(stage, child)
    for address in addresses:
        link = await confirmation_link(stage, server, code, address)
        done = await EmailSignup(stage.svc.ctx).confirm(link.rsplit("/", 1)[1])
        assert isinstance(done, Subscribed), done


def new_mails(server: SmtpServer, address: str) -> list[Received]:
    """What reached ``address``, confirmation e-mails left out."""
    return [r for r in server.relay.to(address) if "/e/confirmer/" not in r.text()]


async def settle(stage: Stage) -> None:
    """Wake every worker and wait until nothing is due or in flight (a
    platform paused because its server is down counts as idle)."""

    async def idle() -> bool:
        repos, now = stage.svc.ctx.repos, stage.clock.now()
        for worker in stage.svc.workers:
            if worker._in_flight:
                return False
            if worker.pacer.global_ready_in() > 0.2:
                continue
            if await repos.deliveries.due(worker.platform, now, 1):
                return False
            if await repos.digests.due(worker.platform, now, 1):
                return False
        return True

    stage.svc.ctx.wake.deliveries()
    await eventually(idle)


async def seed_email_families(stage: Stage, child: str, count: int) -> list[str]:
    """``count`` confirmed e-mail guardians of ``child`` on ``immediat``,
    written straight to the store (the confirmation has its own tests)."""
    repos, now = stage.svc.ctx.repos, stage.clock.now()
    kid, _ = await repos.families.ensure_child(1, child, child.lower(), now)
    await repos.families.set_consent(kid.id, True, now)  # the paper form is signed
    addresses = [f"famille{i:04d}@example.org" for i in range(count)]
    for address in addresses:
        g = await repos.families.upsert_guardian("email", address, address, now)
        await repos.families.subscribe(g.id, kid.id, kid.class_id, now, "immediat")
    stage.svc.ctx.audience.generation.bump()  # written behind the commands' back
    return addresses
