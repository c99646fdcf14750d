"""The year's operator commands through the real command line: tables for
people, one JSON object with --json, folded names, backup, config typos."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from tests.test_cli import _run


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "pv.toml"
    path.write_text('[storage]\ndata_dir = "data"\n', encoding="utf-8")
    return path


def admin(tmp: Path, config: Path, *args: str) -> tuple[int, str, str]:
    out = _run(tmp, "admin", *args, "--config", str(config))
    return out.returncode, out.stdout, out.stderr


def test_lists_are_tables_and_json_is_one_object(tmp_path: Path, config: Path) -> None:
    for school, klass in (("École du Lac", "PS"), ("ECOLE DU LAC", "ps"), ("Ecole du lac", "GS")):
        code, _, err = admin(
            tmp_path, config, "invite-teacher", "--school", school, "--class", klass
        )
        assert code == 0, err
    code, out, _ = admin(tmp_path, config, "classes")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == [
        "école", "classe", "groupe", "enfants", "familles", "enreg.", "enseignant(e)s"
    ]  # fmt: skip
    assert set(lines[1]) <= {"-", " "}
    assert len(lines) == 4  # header, rule, PS and GS of one school
    assert all("École du Lac" in line and "non lié" in line for line in lines[2:])
    assert "{" not in out and "'" not in out
    # Every column starts at the same place on every line.
    start = lines[0].index("classe")
    assert all(line[start : start + 2] in ("PS", "GS", "--") for line in lines[1:])

    code, out, _ = admin(tmp_path, config, "classes", "--json")
    assert [c["class"] for c in json.loads(out)["classes"]] == ["GS", "PS"]
    code, out, _ = admin(tmp_path, config, "teachers", "--json")
    assert json.loads(out) == {"teachers": []}
    code, out, _ = admin(tmp_path, config, "status")
    assert code == 0 and "{" not in out and "écoles" in out

    code, out, err = admin(tmp_path, config, "import-onde", "x.csv", "--class", "MS", "--json")
    assert code == 1 and out == ""
    assert "classe inconnue : « MS »" in err and "PS (École du Lac)" in err


def test_backup_is_a_database_that_opens(tmp_path: Path, config: Path) -> None:
    admin(tmp_path, config, "invite-teacher", "--school", "A", "--class", "PS")
    target = tmp_path / "copie.sqlite3"
    code, out, err = admin(tmp_path, config, "backup", str(target), "--json")
    assert code == 0, err
    assert json.loads(out)["file"] == str(target)
    with sqlite3.connect(target) as copy:
        assert copy.execute("SELECT name FROM classes").fetchall() == [("PS",)]
        assert copy.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    code, out, err = admin(tmp_path, config, "backup", str(target))
    assert code == 1 and "existe déjà" in err


def test_backup_with_postgresql_points_to_pg_dump(tmp_path: Path) -> None:
    config = tmp_path / "pg.toml"
    config.write_text('[storage]\ndatabase = "postgresql://pv@db/pv"\n', encoding="utf-8")
    code, _, err = admin(tmp_path, config, "backup", str(tmp_path / "b.sqlite3"))
    assert code == 1 and "pg_dump" in err


def test_a_misspelt_key_stops_start_up_naming_the_right_one(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[storage]\ndatabse = "postgresql://x/y"\n', encoding="utf-8")
    out = _run(tmp_path, "run", "--config", str(bad))
    assert out.returncode == 2
    assert out.stderr.strip() == (
        "petites-voix: configuration invalide : [storage] databse : "
        "clé inconnue (vouliez-vous dire « database » ?)"
    )


def test_close_year_dry_run_changes_nothing_then_closes(tmp_path: Path, config: Path) -> None:
    admin(tmp_path, config, "invite-teacher", "--school", "École du Lac", "--class", "PS")
    db = tmp_path / "data" / "petites-voix.sqlite3"
    dump = "\n".join(sqlite3.connect(db).iterdump())
    assert 'INSERT INTO "invitations"' in dump
    code, out, err = admin(tmp_path, config, "close-year", "--dry-run", "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["dry_run"] is True and report["state"] == "dry_run"
    assert report["erased"]["children"] == 0 and report["keepsakes"]["open"] == 0
    assert "\n".join(sqlite3.connect(db).iterdump()) == dump
    code, out, _ = admin(tmp_path, config, "close-year", "--dry-run")
    assert code == 0 and "Simulation" in out and "{" not in out

    code, out, _ = admin(tmp_path, config, "close-year")
    assert code == 0 and "L'année est close" in out and "{" not in out
    lines = out.splitlines()
    assert any(line.split() == ["enfants", "0"] for line in lines)
    code, out, _ = admin(tmp_path, config, "close-year", "--json")
    assert json.loads(out)["state"] == "already_closed"
    code, out, _ = admin(tmp_path, config, "classes", "--json")
    assert [c["class"] for c in json.loads(out)["classes"]] == ["PS"]  # schools kept
