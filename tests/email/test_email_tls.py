"""E-mail over TLS (STARTTLS and implicit TLS) with a login the relay checks:
a real aiosmtpd server with a certificate from a CA made for the test,
trusted through ``[email] ca_file``; certificates are always verified."""

from __future__ import annotations

import logging
import ssl
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any, Literal

import pytest
import trustme

from adapters.email import SmtpSettings
from adapters.email.devkit import Relay, SmtpServer
from tests.core.harness import Stage, eventually, sample
from tests.email.kit import TEACHER, email_stage, new_mails, seed_email_families, settle

# aiosmtpd warns that implicit TLS is not STARTTLS: it is TLS all the same.
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")

USER, PASSWORD = "petitesvoix", "mot-de-passe-du-relais"


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def ca_file(ca: trustme.CA, tmp_path: Path) -> str:
    path = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return str(path)


def tls_relay(ca: trustme.CA, tls: Literal["starttls", "implicit"]) -> SmtpServer:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    server = SmtpServer(Relay(logins={USER: PASSWORD}), tls=tls, context=context)
    server.start()
    return server


@pytest.fixture(params=["starttls", "implicit"])
def smtp(request: pytest.FixtureRequest, ca: trustme.CA) -> Iterator[SmtpServer]:
    server = tls_relay(ca, request.param)
    yield server
    server.stop()


def tls_options(server: SmtpServer, ca_file: str | None, password: str) -> dict[str, Any]:
    return {
        "starttls": server.tls == "starttls",
        "implicit_tls": server.tls == "implicit",
        "ca_file": ca_file,
        "username": USER,
        "password": password,
    }


@pytest.fixture
async def started(tmp_path: Path) -> AsyncIterator[list[Stage]]:
    stages: list[Stage] = []
    yield stages
    for stage in stages:
        await stage.stop()


async def fan_out(stages: list[Stage], tmp_path: Path, server: SmtpServer, **smtp: Any) -> Stage:
    stage = email_stage(tmp_path / "data", server, **smtp)
    await stage.start()
    stages.append(stage)
    await stage.setup_class()
    addresses = await seed_email_families(stage, "Lina", 3)
    assert addresses == [f"famille{i:04d}@example.org" for i in range(3)]
    await stage.post_audio(TEACHER, sample("loup_groupe3_voice.ogg"), caption="Groupe 3")
    await stage.publish()
    await settle(stage)
    return stage


def each_once(server: SmtpServer) -> bool:
    return all(len(new_mails(server, f"famille{i:04d}@example.org")) == 1 for i in range(3))


async def test_sends_over_tls_after_a_login_the_relay_checked(
    smtp: SmtpServer, ca_file: str, tmp_path: Path, started: list[Stage]
) -> None:
    await fan_out(started, tmp_path, smtp, **tls_options(smtp, ca_file, PASSWORD))
    assert each_once(smtp)
    # The relay refuses MAIL without a login, and (STARTTLS) a login before TLS.
    attempts = smtp.relay.login_attempts
    assert attempts and all(ok and user == USER for _, user, ok in attempts)
    assert {mechanism for mechanism, _, _ in attempts} <= {"PLAIN", "LOGIN"}


async def test_a_wrong_password_tells_the_operator_once_and_loses_nothing(
    smtp: SmtpServer,
    ca_file: str,
    tmp_path: Path,
    started: list[Stage],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="petites_voix.email")
    stage = await fan_out(started, tmp_path, smtp, **tls_options(smtp, ca_file, "pas-le-bon"))
    assert smtp.relay.count == 0 and not any(ok for _, _, ok in smtp.relay.login_attempts)
    repos = stage.svc.ctx.repos
    counts = await repos.deliveries.counts_by_state()
    assert counts.get("pending") == 3 and counts.get("failed", 0) == 0, counts
    told = [r.getMessage() for r in caplog.records if "mot de passe" in r.getMessage()]
    assert len(told) == 1, told
    assert "SMTP_PASSWORD" in told[0] and "pas-le-bon" not in caplog.text
    # The relay's account is put right: what waited goes, once each.
    smtp.relay.logins[USER] = "pas-le-bon"
    stage.clock.advance(3600)
    await eventually(lambda: each_once(smtp), timeout=30)
    await settle(stage)
    assert each_once(smtp)
    assert "de nouveau" in caplog.text


async def test_a_certificate_from_an_unknown_authority_is_refused(
    smtp: SmtpServer, tmp_path: Path, started: list[Stage], caplog: pytest.LogCaptureFixture
) -> None:
    # No ca_file: the system's store, which does not know the test's CA.
    caplog.set_level(logging.WARNING, logger="petites_voix.email")
    stage = await fan_out(started, tmp_path, smtp, **tls_options(smtp, None, PASSWORD))
    assert smtp.relay.count == 0 and smtp.relay.login_attempts == []
    counts = await stage.svc.ctx.repos.deliveries.counts_by_state()
    assert counts.get("pending") == 3 and counts.get("failed", 0) == 0, counts
    assert "certificat" in caplog.text and "ca_file" in caplog.text


def test_port_465_means_implicit_tls_unless_told() -> None:
    assert SmtpSettings("relais", 465, "v@example.org").uses_implicit_tls
    assert not SmtpSettings("relais", 465, "v@example.org", starttls=True).uses_implicit_tls
    assert not SmtpSettings("relais", 587, "v@example.org").uses_implicit_tls
    assert SmtpSettings("relais", 2465, "v@example.org", implicit_tls=True).uses_implicit_tls
