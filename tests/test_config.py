from __future__ import annotations

from datetime import time
from pathlib import Path

import pytest

from bot.config import ConfigError, load_settings, settings_from_mapping

BASE = Path("/srv/pv")


def test_defaults_without_any_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    settings = load_settings(None, env={})
    assert settings.data_dir == tmp_path / "data"
    assert settings.telegram is None and settings.matrix is None
    assert settings.schedule.weekly_digest.french() == "vendredi 16h30"
    assert settings.schedule.quiet_hours == (time(20, 0), time(7, 30))
    assert settings.delivery.grace_seconds == 300


def test_secrets_come_from_the_environment() -> None:
    raw = {"telegram": {}, "matrix": {"homeserver": "https://m.org", "user_id": "@b:m.org"}}
    env = {"TELEGRAM_BOT_TOKEN": "123:ABC", "MATRIX_ACCESS_TOKEN": "syt_x"}
    settings = settings_from_mapping(raw, env, BASE)
    assert settings.telegram is not None and settings.telegram.token == "123:ABC"
    assert settings.matrix is not None and settings.matrix.access_token == "syt_x"
    assert "123:ABC" not in repr(settings)


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ({"schedule": {"weekly_digest": "vendredy 16:30"}}, "[schedule] weekly_digest"),
        ({"schedule": {"daily_digest": "25:00"}}, "[schedule] daily_digest"),
        ({"schedule": {"quiet_hours": "20:00"}}, "[schedule] quiet_hours"),
        ({"schedule": {"timezone": "Europe/Paname"}}, "[schedule] timezone"),
        ({"delivery": {"grace_seconds": "cinq"}}, "[delivery] grace_seconds"),
        ({"delivery": {"grace_seconds": -1}}, "[delivery] grace_seconds"),
        ({"telegram": {}}, "[telegram] token"),
        ({"telegram": {"token": "sans-deux-points"}}, "[telegram] token"),
        ({"telegram": {"token": "1:A", "api_url": "ftp://x"}}, "[telegram] api_url"),
        ({"matrix": {"homeserver": "m.org"}}, "[matrix] homeserver"),
        ({"matrix": {"homeserver": "https://m.org", "user_id": "bot"}}, "[matrix] user_id"),
        (
            {"matrix": {"homeserver": "https://m.org", "user_id": "@b:m.org"}},
            "[matrix] password",
        ),
        ({"stockage": {}}, "[stockage]"),
    ],
)
def test_a_bad_setting_names_its_key(raw: dict[str, object], key: str) -> None:
    with pytest.raises(ConfigError) as caught:
        settings_from_mapping(raw, {}, BASE)
    assert caught.value.key == key
    assert key in str(caught.value) and "\n" not in str(caught.value)


def test_operator_commands_need_no_secrets() -> None:
    raw = {
        "telegram": {"username": "@classe_bot"},
        "matrix": {"homeserver": "https://m.org", "user_id": "@b:m.org"},
    }
    settings = settings_from_mapping(raw, {}, BASE, require_secrets=False)
    assert settings.telegram is not None and settings.telegram.username == "classe_bot"
    with pytest.raises(ConfigError):
        settings_from_mapping(raw, {}, BASE)


def test_explicit_missing_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="introuvable"):
        load_settings(str(tmp_path / "absent.toml"), env={})


def test_broken_toml_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "pv.toml"
    path.write_text("[schedule\nweekly = 1", encoding="utf-8")
    with pytest.raises(ConfigError, match="TOML"):
        load_settings(str(path), env={})


def test_data_dir_is_relative_to_the_config_file(tmp_path: Path) -> None:
    path = tmp_path / "etc" / "pv.toml"
    path.parent.mkdir()
    path.write_text('[storage]\ndata_dir = "var"\n', encoding="utf-8")
    assert load_settings(str(path), env={}).data_dir == path.parent / "var"


@pytest.mark.parametrize(
    ("raw", "line"),
    [
        (
            {"storage": {"databse": "postgresql://x/y"}},
            "[storage] databse : clé inconnue (vouliez-vous dire « database » ?)",
        ),
        (
            {"schedule": {"weekly_digets": "fri 16:30"}},
            "[schedule] weekly_digets : clé inconnue (vouliez-vous dire « weekly_digest » ?)",
        ),
        ({"delivery": {"couleur": "bleu"}}, "[delivery] couleur : clé inconnue"),
        ({"metrics": {"listne": "127.0.0.1:1"}}, "vouliez-vous dire « listen » ?"),
        ({"privacy": {"consent": "x"}}, "vouliez-vous dire « consent_text » ?"),
        ({"stroage": {}}, "[stroage] : section inconnue (vouliez-vous dire « storage » ?)"),
    ],
)
def test_an_unknown_key_stops_with_the_key_it_resembles(raw: dict[str, object], line: str) -> None:
    with pytest.raises(ConfigError) as caught:
        settings_from_mapping(raw, {}, BASE)
    assert line in str(caught.value)
    assert "\n" not in str(caught.value)


def test_milestone_two_sections_are_read_with_secrets_from_the_environment() -> None:
    raw = {
        "storage": {"media": "s3://voix/ecole"},
        "web": {"public_url": "https://voix.example.org/", "listen": "127.0.0.1:8081"},
        "email": {
            "smtp_host": "relais.example.org",
            "smtp_port": 587,
            "starttls": True,
            "username": "voix",
            "sender": "Petites Voix <voix@example.org>",
        },
        "s3": {"endpoint_url": "https://s3.example.org", "region": "fr-par", "access_key_id": "K"},
        "metrics": {"listen": "[::1]:9464"},
        "privacy": {"consent_text": "Nous enregistrons…", "listen_details": True},
    }
    env = {
        "DATABASE_URL": "postgresql://pv:secret@db/pv",
        "SMTP_PASSWORD": "smtp-secret",
        "S3_SECRET_ACCESS_KEY": "s3-secret",
    }
    s = settings_from_mapping(raw, env, BASE)
    assert s.database == "postgresql://pv:secret@db/pv"
    assert s.web is not None and s.web.public_url == "https://voix.example.org"
    assert (s.web.listen_host, s.web.listen_port) == ("127.0.0.1", 8081)
    assert s.email is not None and s.email.password == "smtp-secret" and s.email.starttls
    assert s.s3 is not None and (s.s3.bucket, s.s3.prefix) == ("voix", "ecole")
    assert s.s3.secret_access_key == "s3-secret"
    assert s.metrics is not None and (s.metrics.listen_host, s.metrics.listen_port) == ("::1", 9464)
    assert s.privacy.listen_details and s.privacy.consent_text == "Nous enregistrons…"
    for secret in ("secret", "smtp-secret", "s3-secret"):
        assert secret not in repr(s)


def test_milestone_two_sections_are_optional() -> None:
    s = settings_from_mapping({}, {}, BASE)
    assert s.database is None and s.web is None and s.email is None
    assert s.s3 is None and s.metrics is None
    assert s.privacy.consent_text is None and not s.privacy.listen_details


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ({"storage": {"database": "mysql://x"}}, "[storage] database"),
        ({"storage": {"media": "s3://b"}}, "[s3]"),
        ({"storage": {"media": "/srv/media"}}, "[storage] media"),
        ({"web": {"public_url": "voix.example.org"}}, "[web] public_url"),
        ({"web": {"public_url": "https://v.org", "listen": "8080"}}, "[web] listen"),
        ({"email": {"sender": "voix@example.org"}}, "[email]"),
        ({"metrics": {"listen": "localhost:http"}}, "[metrics] listen"),
        ({"privacy": {"listen_details": "oui"}}, "[privacy] listen_details"),
    ],
)
def test_a_bad_milestone_two_setting_names_its_key(raw: dict[str, object], key: str) -> None:
    with pytest.raises(ConfigError) as caught:
        settings_from_mapping(raw, {}, BASE)
    assert caught.value.key == key


async def test_an_unreachable_s3_store_stops_the_start_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot.cli import run_service

    settings = settings_from_mapping(
        {
            "storage": {"data_dir": str(tmp_path), "media": "s3://seau/voix"},
            "s3": {
                "endpoint_url": "http://127.0.0.1:9",  # nothing listens there
                "region": "fr-par",
                "access_key_id": "AK",
            },
            "telegram": {"token": "1:A", "api_url": "http://127.0.0.1:9"},
        },
        {"S3_SECRET_ACCESS_KEY": "tres-secret"},
        tmp_path,
    )
    assert await run_service(settings) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "[storage] media" in err and "seau" in err
    assert "tres-secret" not in err


def _email(**keys: object) -> dict[str, object]:
    return {
        "web": {"public_url": "https://voix.example.org"},
        "email": {"sender": "voix@example.org", **keys},
    }


def test_email_tls_port_465_is_implicit_unless_told_and_never_both(tmp_path: Path) -> None:
    s = settings_from_mapping(_email(smtp_port=465), {}, tmp_path)
    assert s.email is not None and s.email.implicit_tls and not s.email.starttls
    s = settings_from_mapping(_email(smtp_port=587, starttls=True), {}, tmp_path)
    assert s.email is not None and s.email.starttls and not s.email.implicit_tls
    s = settings_from_mapping(_email(smtp_port=2465, implicit_tls=True), {}, tmp_path)
    assert s.email is not None and s.email.implicit_tls
    with pytest.raises(ConfigError) as caught:
        settings_from_mapping(_email(starttls=True, implicit_tls=True), {}, tmp_path)
    assert caught.value.key == "[email] implicit_tls"


def test_email_ca_file_is_found_beside_the_config(tmp_path: Path) -> None:
    (tmp_path / "relais.pem").write_text("-----BEGIN CERTIFICATE-----\n")
    s = settings_from_mapping(_email(ca_file="relais.pem"), {}, tmp_path)
    assert s.email is not None and s.email.ca_file == str(tmp_path / "relais.pem")
    with pytest.raises(ConfigError) as caught:
        settings_from_mapping(_email(ca_file="absent.pem"), {}, tmp_path)
    assert caught.value.key == "[email] ca_file"
