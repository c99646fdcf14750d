"""`admin invitations --pdf` on a Telegram-only service without `[telegram]
username`: the command asks the bot its name (getMe, on the local Bot API
server) and prints Telegram slips with t.me links; when Telegram cannot be
asked, the operator is warned in French and the slips say what is missing.
Read back from the PDF like a reader would (text and QR codes)."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path

from storage.db import Database
from storage.repos import Repositories
from tests.telegram_api import running_fake_api
from tests.telegram_api.harness import free_port
from tests.test_slips import _pages

REPO = Path(__file__).resolve().parents[1]
CHILDREN = ["Zoé", "Maël"]


def write_config(tmp_path: Path, api_url: str, token: str) -> Path:
    path = tmp_path / "pv.toml"
    path.write_text(
        f'[storage]\ndata_dir = "data"\n\n[telegram]\ntoken = "{token}"\napi_url = "{api_url}"\n',
        encoding="utf-8",
    )
    return path


async def cli(config: Path, *args: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "admin",
        *args,
        "--config",
        str(config),
        cwd=REPO,
        env={**os.environ, "PETITES_VOIX_CONFIG": ""},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate()
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def class_with_children(config: Path) -> None:
    code, _out, err = await cli(config, "invite-teacher", "--school", "Lac", "--class", "MS")
    assert code == 0, err
    db = await Database.open(config.parent / "data" / "petites-voix.sqlite3")
    try:
        repos = Repositories.over(db)
        (klass,) = await repos.schools.find_classes("MS", None)
        for name in CHILDREN:
            await repos.families.ensure_child(klass.id, name, name.lower(), datetime.now(UTC))
    finally:
        await db.close()


async def test_slips_carry_the_t_me_link_learnt_from_get_me(tmp_path: Path) -> None:
    async with running_fake_api() as fake:
        config = write_config(tmp_path, fake.url, fake.token)
        await class_with_children(config)
        pdf = tmp_path / "fiches.pdf"
        code, out, err = await cli(
            config, "invitations", "--class", "MS", "--pdf", str(pdf), "--json"
        )
        assert code == 0, err
        assert json.loads(out)["slips"] == 2
        assert "attention" not in err
        assert fake.calls_to("getMe")
    [(lines, text, qrs)] = _pages(pdf.read_bytes())
    assert "Element" not in text and "Matrix" not in text  # not configured here
    assert "Telegram s’ouvre" in text or "Telegram s'ouvre" in text
    assert len(qrs) == 2
    assert all(qr.startswith(f"https://t.me/{fake.username}?start=") for qr in qrs)
    assert all(qr.removeprefix(f"https://t.me/{fake.username}?start=") in lines for qr in qrs)
    assert fake.token not in err and fake.token not in out


async def test_slips_say_what_is_missing_when_telegram_cannot_be_asked(tmp_path: Path) -> None:
    async with running_fake_api() as fake:
        token = fake.token
    # Nothing listens there any more: getMe cannot be answered.
    config = write_config(tmp_path, f"http://127.0.0.1:{free_port()}", token)
    await class_with_children(config)
    pdf = tmp_path / "fiches.pdf"
    code, _out, err = await cli(config, "invitations", "--class", "MS", "--pdf", str(pdf))
    assert code == 0, err
    assert "attention : impossible de demander son nom au robot Telegram" in err
    assert "[telegram] username" in err and token not in err
    [(lines, text, qrs)] = _pages(pdf.read_bytes())
    assert "Element" not in text and "Matrix" not in text
    assert "Le lien Telegram du robot de la classe manque sur cette fiche" in text
    assert "Pas de code QR" in text
    assert qrs == []  # no QR holding a bare code
    assert sum(1 for line in lines if len(line) >= 20 and " " not in line) == 2  # the codes
