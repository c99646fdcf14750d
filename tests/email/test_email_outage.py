"""The relay down or the service restarted in the middle of a fan-out:
nothing lost, nothing sent twice, and the chat platform never waits for it."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from email import message_from_bytes, policy
from pathlib import Path

import pytest

from adapters.email.devkit import SmtpServer
from tests.core.harness import Stage, eventually, sample
from tests.email.kit import TEACHER, email_stage, new_mails, seed_email_families, settle

FAMILIES = 30
PARENTS = [f"parent{i}" for i in range(5)]


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


async def fan_out_class(stage: Stage) -> list[str]:
    await stage.setup_class()
    for i, parent in enumerate(PARENTS):
        await stage.invite_parent(TEACHER, f"Enfant{i}", parent)
    addresses = await seed_email_families(stage, "Lina", FAMILIES)
    await stage.post_audio(TEACHER, sample("loup_groupe3_voice.ogg"), caption="Groupe 3")
    await stage.publish()
    return addresses


def each_once(server: SmtpServer, addresses: list[str]) -> bool:
    return all(len(new_mails(server, a)) == 1 for a in addresses)


async def test_relay_down_mid_fan_out(tmp_path: Path, smtp: SmtpServer) -> None:
    # 10 e-mails a second: the fan-out lasts long enough to cut it in the middle.
    stage = email_stage(tmp_path / "data", smtp, rate_per_minute=600)
    await stage.start()
    try:
        addresses = await fan_out_class(stage)
        await eventually(lambda: smtp.relay.count >= 5)
        await asyncio.to_thread(smtp.stop)
        # The chat families all got it, without waiting for the relay.
        await eventually(lambda: all(stage.adapter.audio_to(p) for p in PARENTS))
        await settle(stage)
        reached = smtp.relay.count
        assert 5 <= reached < FAMILIES
        repos = stage.svc.ctx.repos
        counts = await repos.deliveries.counts_by_state()
        assert counts["pending"] == FAMILIES - reached, counts
        assert counts["failed"] == 0, counts
        status = await repos.adapter_status.all()
        assert status["email"]["last_error"] == "unreachable"
        # The relay comes back: what waited goes, once each.
        await asyncio.to_thread(smtp.start)
        stage.clock.advance(3600)
        await settle(stage)
        await eventually(lambda: each_once(smtp, addresses), timeout=30)
        await settle(stage)
        assert each_once(smtp, addresses)
        assert all(len(stage.adapter.audio_to(p)) == 1 for p in PARENTS)
        assert (await repos.deliveries.counts_by_state())["sent"] == FAMILIES + len(PARENTS)
    finally:
        await stage.stop()


async def test_restart_mid_fan_out(tmp_path: Path, smtp: SmtpServer) -> None:
    stage = email_stage(tmp_path / "data", smtp, rate_per_minute=600)
    await stage.start()
    addresses = await fan_out_class(stage)
    await eventually(lambda: smtp.relay.count >= 5)
    await stage.stop()  # SIGTERM: sends under way finish, the rest waits
    reached = smtp.relay.count
    assert reached < FAMILIES
    again = email_stage(tmp_path / "data", smtp, rate_per_minute=6000)
    again.clock.set(stage.clock.now())
    await again.start()
    try:
        await settle(again)
        await eventually(lambda: each_once(smtp, addresses), timeout=30)
        await settle(again)
        assert each_once(smtp, addresses)
        ids = [str(r.mail["Message-ID"]) for r in smtp.relay.received]
        assert len(ids) == len(set(ids)) == FAMILIES
    finally:
        await again.stop()


async def test_attach_sends_the_mp3_under_5_mb(tmp_path: Path, smtp: SmtpServer) -> None:
    stage = email_stage(tmp_path / "data", smtp, attach=True)
    await stage.start()
    try:
        await stage.setup_class()
        [address] = await seed_email_families(stage, "Lina", 1)
        await stage.post_audio(TEACHER, sample("loup_groupe3_voice.ogg"), caption="Groupe 3")
        await stage.publish()
        await settle(stage)
        [mail] = new_mails(smtp, address)
        parts = [p.get_content_type() for p in mail.mail.walk()]
        assert "audio/mpeg" in parts and mail.mail.get_content_type() == "multipart/mixed"
        [audio] = [p for p in mail.mail.walk() if p.get_content_type() == "audio/mpeg"]
        data = audio.get_payload(decode=True)
        assert isinstance(data, bytes) and len(data) > 1000
        assert message_from_bytes(mail.mail.as_bytes(), policy=policy.default)["Subject"]
    finally:
        await stage.stop()
