"""The operator's interface as outside tools use it: `python -m bot admin ...`."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pypdfium2 as pdfium
import pytest

from tests.postgres_server import PostgresServer


def _run(
    tmp: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=tmp,
        env={**os.environ, "PETITES_VOIX_CONFIG": "", **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "pv.toml"
    path.write_text(
        '[storage]\ndata_dir = "data"\n\n[telegram]\nusername = "classe_bot"\n', encoding="utf-8"
    )
    return path


def test_invite_teacher_prints_one_json_object(tmp_path: Path, config: Path) -> None:
    out = _run(
        tmp_path,
        "admin",
        "invite-teacher",
        "--school",
        "École du Lac",
        "--class",
        "MS-GS",
        "--json",
        "--config",
        str(config),
    )
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert 20 <= len(result["code"]) <= 64
    assert result["telegram_link"] == f"https://t.me/classe_bot?start={result['code']}"
    assert result["expires_at"].startswith("20")
    # The code is for the operator's eyes: not in the logs.
    assert result["code"] not in out.stderr


def test_status_counts(tmp_path: Path, config: Path) -> None:
    _run(
        tmp_path,
        "admin",
        "invite-teacher",
        "--school",
        "A",
        "--class",
        "PS",
        "--config",
        str(config),
    )
    out = _run(tmp_path, "admin", "status", "--json", "--config", str(config))
    assert out.returncode == 0, out.stderr
    status = json.loads(out.stdout)
    for key in ("schools", "classes", "albums", "recordings", "families", "subscriptions"):
        assert isinstance(status[key], int), key
    assert status["schools"] == 1 and status["classes"] == 1
    assert {"pending", "sent", "failed"} <= set(status["deliveries"])
    # New classes take the configured default: Friday 16:30, Paris time.
    (weekly,) = status["next_digests"]["weekly"]
    assert weekly["class"] == "PS" and weekly["at"].endswith(("16:30:00+00:00", "15:30:00+00:00"))
    assert status["next_digests"]["daily"]


def test_roster_import_then_printable_invitations(tmp_path: Path, config: Path) -> None:
    _run(
        tmp_path,
        "admin",
        "invite-teacher",
        "--school",
        "A",
        "--class",
        "MS-GS",
        "--config",
        str(config),
    )
    csv = tmp_path / "onde.csv"
    csv.write_bytes(
        "Nom;Prénom;Classe\r\nMARTIN;Zoé;MS-GS\r\nDURAND;Maël;MS-GS\r\n".encode("cp1252")
    )
    dry = _run(
        tmp_path,
        "admin",
        "import-onde",
        str(csv),
        "--class",
        "MS-GS",
        "--dry-run",
        "--json",
        "--config",
        str(config),
    )
    assert dry.returncode == 0, dry.stderr
    assert json.loads(dry.stdout)["would_add"] == ["Zoé", "Maël"]
    done = _run(
        tmp_path,
        "admin",
        "import-onde",
        str(csv),
        "--class",
        "MS-GS",
        "--json",
        "--config",
        str(config),
    )
    assert json.loads(done.stdout)["added"] == ["Zoé", "Maël"]
    again = _run(
        tmp_path,
        "admin",
        "import-onde",
        str(csv),
        "--class",
        "MS-GS",
        "--json",
        "--config",
        str(config),
    )
    assert json.loads(again.stdout)["already_known"] == 2
    pdf = tmp_path / "slips.pdf"
    out = _run(
        tmp_path,
        "admin",
        "invitations",
        "--class",
        "MS-GS",
        "--pdf",
        str(pdf),
        "--json",
        "--config",
        str(config),
    )
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["slips"] == 2
    assert pdf.read_bytes().startswith(b"%PDF")
    # The same slips in French and Arabic, for the families who read Arabic.
    both = tmp_path / "slips-ar.pdf"
    args = ("admin", "invitations", "--class", "MS-GS", "--pdf", str(both), "--lang", "ar")
    out = _run(tmp_path, *args, "--json", "--config", str(config))
    assert out.returncode == 0, out.stderr
    doc = pdfium.PdfDocument(both.read_bytes())
    text = doc[0].get_textpage().get_text_range()
    assert "Invitation pour les parents de" in text and "دعوة لأولياء أمر" in text
    doc.close()


def test_bad_setting_stops_with_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[schedule]\nweekly_digest = "jeudredi 25:00"\n', encoding="utf-8")
    out = _run(tmp_path, "run", "--config", str(bad))
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "[schedule] weekly_digest" in lines[0]


def test_run_without_any_platform_says_so(tmp_path: Path) -> None:
    out = _run(tmp_path, "run")
    assert out.returncode == 2
    assert "aucune messagerie" in out.stderr


def test_erase_family_needs_a_target(tmp_path: Path, config: Path) -> None:
    out = _run(tmp_path, "admin", "erase-family", "--json", "--config", str(config))
    assert out.returncode == 1 and "précisez" in out.stderr and out.stdout == ""


def test_platform_down_at_start_is_waited_for_and_sigterm_stops(tmp_path: Path) -> None:
    import signal
    import socket
    import time

    with socket.socket() as s:  # a port where nothing listens
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = tmp_path / "pv.toml"
    config.write_text(
        f'[telegram]\ntoken = "1:AAA"\napi_url = "http://127.0.0.1:{port}"\n', encoding="utf-8"
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "run", "--config", str(config)],
        cwd=tmp_path,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(4)
    assert proc.poll() is None  # still waiting for Telegram, not crashed
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0
    assert "telegram unreachable" in err and "Traceback" not in err
    assert "1:AAA" not in err


def test_status_on_postgresql_through_database_url(
    tmp_path: Path, config: Path, postgres: PostgresServer
) -> None:
    env = {"DATABASE_URL": postgres.fresh_database()}
    made = _run(
        tmp_path, "admin", "invite-teacher", "--school", "A", "--class", "PS",
        "--config", str(config), env=env,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    out = _run(tmp_path, "admin", "status", "--json", "--config", str(config), env=env)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["classes"] == 1
    assert not (tmp_path / "data" / "petites-voix.sqlite3").exists()


def test_unreachable_database_stops_with_one_line(tmp_path: Path, config: Path) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        url = f"postgresql://pv:motdepasse@127.0.0.1:{sock.getsockname()[1]}/pv"
    out = _run(tmp_path, "admin", "status", "--config", str(config), env={"DATABASE_URL": url})
    assert out.returncode == 1
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "PostgreSQL" in lines[0], out.stderr
    assert "motdepasse" not in out.stderr


def test_database_must_be_a_postgresql_url(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[storage]\ndatabase = "mysql://x/y"\n', encoding="utf-8")
    out = _run(tmp_path, "admin", "status", "--config", str(bad))
    assert out.returncode == 2 and "[storage] database" in out.stderr


def test_a_second_run_on_the_same_sqlite_data_dir_refuses(tmp_path: Path) -> None:
    import signal
    import socket
    import time

    with socket.socket() as s:  # Telegram out of reach: the first run waits, holding the dir
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = tmp_path / "pv.toml"
    config.write_text(
        f'[telegram]\ntoken = "1:AAA"\napi_url = "http://127.0.0.1:{port}"\n', encoding="utf-8"
    )
    first = subprocess.Popen(
        [sys.executable, "-m", "bot", "run", "--config", str(config)],
        cwd=tmp_path,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while not (tmp_path / "data" / "run.lock").exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(1.0)
        assert first.poll() is None
        second = _run(tmp_path, "run", "--config", str(config))
        assert second.returncode == 2
        lines = second.stderr.strip().splitlines()
        assert len(lines) == 1 and "un seul processus par dossier de données" in lines[0]
    finally:
        first.send_signal(signal.SIGTERM)
        first.communicate(timeout=30)
    assert first.returncode == 0
