"""The operator's e-mail commands as outside tools run them: the ONDE
guardians' export imported, invitations e-mailed through a real SMTP server,
an e-mail family's data exported; no address in the logs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from adapters.email.devkit import SmtpServer

ONDE = Path(__file__).resolve().parents[1] / "samples" / "onde"


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


def admin(tmp: Path, config: Path, *args: str) -> dict[str, object]:
    out = subprocess.run(
        [sys.executable, "-m", "bot", "admin", *args, "--json", "--config", str(config)],
        cwd=tmp,
        env={**os.environ, "PETITES_VOIX_CONFIG": "", "SMTP_PASSWORD": ""},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    assert "@example.org" not in out.stderr
    result = json.loads(out.stdout)
    assert isinstance(result, dict)
    return result


def test_import_then_email_invitations(tmp_path: Path, smtp: SmtpServer) -> None:
    config = tmp_path / "pv.toml"
    config.write_text(
        '[storage]\ndata_dir = "data"\n\n[web]\npublic_url = "https://voix.example.org"\n\n'
        f'[email]\nsmtp_host = "127.0.0.1"\nsmtp_port = {smtp.port}\n'
        'sender = "Petites Voix <voix@example.org>"\n',
        encoding="utf-8",
    )
    admin(tmp_path, config, "invite-teacher", "--school", "École du Lac", "--class", "GS")
    csv = str(ONDE / "responsables_latin1.csv")
    dry = admin(tmp_path, config, "import-onde", csv, "--class", "GS", "--dry-run")
    assert dry["would_add"] == ["Noël", "Maëlys", "Zoé", "Léonie"]
    done = admin(tmp_path, config, "import-onde", csv, "--class", "GS")
    assert done["addresses"] == 3 and done["without_email"] == 1
    counted = admin(tmp_path, config, "invitations", "--class", "GS", "--email", "--dry-run")
    assert counted["emails"] == 3 and counted["sent"] == 0
    assert smtp.relay.received == []
    sent = admin(tmp_path, config, "invitations", "--class", "GS", "--email")
    assert sent["sent"] == 3
    [rene] = smtp.relay.to("rene.lambert@example.org")
    assert "pour Zoé" in rene.text() and "pour Léonie" in rene.text()
    assert "École du Lac" in str(rene.mail["Subject"])
