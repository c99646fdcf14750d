"""Configuration: one TOML file plus secrets from the environment.

Everything is validated at start; a bad value raises :class:`ConfigError`
naming the key, which the CLI prints as one line.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot import config_services as services
from bot.config_reader import ConfigError, Section, unknown
from bot.config_services import (
    EmailSettings,
    MetricsSettings,
    PrivacySettings,
    S3Settings,
    WebSettings,
)
from bot.schedule_words import WeeklySlot, parse_clock, parse_quiet_hours, parse_weekly_slot

__all__ = [
    "ConfigError",
    "EmailSettings",
    "MetricsSettings",
    "PrivacySettings",
    "S3Settings",
    "Settings",
    "WebSettings",
    "load_settings",
    "settings_from_mapping",
]

DEFAULT_CONFIG_PATH = Path("petites-voix.toml")


@dataclass(frozen=True)
class TelegramSettings:
    token: str
    api_url: str = "https://api.telegram.org"
    username: str | None = None  # the bot's @name, for invitation links made offline
    webhook_url: str | None = None
    webhook_listen: str = "127.0.0.1"
    webhook_port: int = 8443
    webhook_secret: str | None = None
    global_rate_per_s: float = 25.0

    def __repr__(self) -> str:  # never print the token
        return f"TelegramSettings(api_url={self.api_url!r}, webhook={self.webhook_url is not None})"


@dataclass(frozen=True)
class MatrixSettings:
    homeserver: str
    user_id: str
    password: str | None = None
    access_token: str | None = None

    def __repr__(self) -> str:
        return f"MatrixSettings(homeserver={self.homeserver!r}, user_id={self.user_id!r})"


@dataclass(frozen=True)
class ScheduleSettings:
    timezone: ZoneInfo = field(default_factory=lambda: ZoneInfo("Europe/Paris"))
    weekly_digest: WeeklySlot = field(default_factory=lambda: parse_weekly_slot("fri 16:30"))
    daily_digest: time = time(18, 0)
    quiet_hours: tuple[time, time] | None = (time(20, 0), time(7, 30))


@dataclass(frozen=True)
class DeliverySettings:
    grace_seconds: int = 300
    max_attempts: int = 8


@dataclass(frozen=True)
class AudioSettings:
    max_megabytes: float = 50.0
    max_minutes: float = 20.0
    max_concurrency: int = 2


@dataclass(frozen=True)
class InvitationSettings:
    teacher_days: int = 7
    parent_days: int = 30
    parent_max_uses: int = 4


@dataclass(frozen=True)
class RetentionSettings:
    # Recordings go at the end of the school year ("MM-DD", local time)...
    school_year_end: tuple[int, int] = (7, 31)
    # ...or after this many days when set (0 = the school year rule only).
    keep_days: int = 0


@dataclass(frozen=True)
class Settings:
    data_dir: Path = Path("data")
    telegram: TelegramSettings | None = None
    matrix: MatrixSettings | None = None
    schedule: ScheduleSettings = field(default_factory=ScheduleSettings)
    delivery: DeliverySettings = field(default_factory=DeliverySettings)
    audio: AudioSettings = field(default_factory=AudioSettings)
    invitations: InvitationSettings = field(default_factory=InvitationSettings)
    retention: RetentionSettings = field(default_factory=RetentionSettings)
    # A postgresql:// URL (it may hold a password: never printed); None is
    # the embedded SQLite file in data_dir.
    database: str | None = field(default=None, repr=False)
    web: WebSettings | None = None
    email: EmailSettings | None = None
    # None: media files under data_dir/media.
    s3: S3Settings | None = None
    metrics: MetricsSettings | None = None
    privacy: PrivacySettings = field(default_factory=PrivacySettings)


def config_path(explicit: str | None, env: Mapping[str, str]) -> tuple[Path, bool]:
    """Where to read the config, and whether it must exist."""
    if explicit:
        return Path(explicit), True
    if env.get("PETITES_VOIX_CONFIG"):
        return Path(env["PETITES_VOIX_CONFIG"]), True
    return DEFAULT_CONFIG_PATH, False


def load_settings(
    explicit: str | None = None,
    env: Mapping[str, str] | None = None,
    *,
    require_secrets: bool = True,
) -> Settings:
    """``require_secrets=False`` for operator commands, which never talk to a
    platform and so need no token or password."""
    env = os.environ if env is None else env
    path, required = config_path(explicit, env)
    if not path.exists():
        if required:
            raise ConfigError("--config", f"fichier introuvable : {path}")
        return settings_from_mapping({}, env, base=Path.cwd(), require_secrets=require_secrets)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(str(path), f"TOML illisible ({exc})") from exc
    return settings_from_mapping(
        raw, env, base=path.resolve().parent, require_secrets=require_secrets
    )


# The keys each section accepts: anything else stops start-up.
KEYS: dict[str, tuple[str, ...]] = {
    "storage": services.STORAGE_KEYS,
    "telegram": (
        "token",
        "api_url",
        "username",
        "webhook_url",
        "webhook_listen",
        "webhook_port",
        "webhook_secret",
        "global_rate_per_s",
    ),
    "matrix": ("homeserver", "user_id", "password", "access_token"),
    "schedule": ("timezone", "weekly_digest", "daily_digest", "quiet_hours"),
    "delivery": ("grace_seconds", "max_attempts"),
    "audio": ("max_megabytes", "max_minutes", "max_concurrency"),
    "invitations": ("teacher_days", "parent_days", "parent_max_uses"),
    "retention": ("school_year_end", "keep_days"),
    "web": services.WEB_KEYS,
    "email": services.EMAIL_KEYS,
    "s3": services.S3_KEYS,
    "metrics": services.METRICS_KEYS,
    "privacy": services.PRIVACY_KEYS,
}


def _section(name: str, raw: Mapping[str, Any]) -> Section:
    return Section(name, raw.get(name), KEYS[name])


def settings_from_mapping(
    raw: Mapping[str, Any],
    env: Mapping[str, str],
    base: Path,
    *,
    require_secrets: bool = True,
) -> Settings:
    for section in raw:
        if section not in KEYS:
            raise ConfigError(f"[{section}]", "section " + unknown(section, KEYS))

    storage = _section("storage", raw)
    data_dir = Path(storage.string("data_dir", "data") or "data")
    if not data_dir.is_absolute():
        data_dir = base / data_dir

    web = services.web(raw)
    return Settings(
        data_dir=data_dir,
        telegram=_telegram(raw, env, require_secrets),
        matrix=_matrix(raw, env, require_secrets),
        schedule=_schedule(_section("schedule", raw)),
        delivery=_delivery(_section("delivery", raw)),
        audio=_audio(_section("audio", raw)),
        invitations=_invitations(_section("invitations", raw)),
        retention=_retention(_section("retention", raw)),
        database=services.database(storage, env),
        web=web,
        email=services.email(raw, env, has_web=web is not None, base=base),
        s3=services.s3(raw, storage, env),
        metrics=services.metrics(raw),
        privacy=services.privacy(raw),
    )


def _telegram(
    raw: Mapping[str, Any], env: Mapping[str, str], require_secrets: bool
) -> TelegramSettings | None:
    if "telegram" not in raw:
        return None
    s = _section("telegram", raw)
    token = s.string("token") or env.get("TELEGRAM_BOT_TOKEN") or ""
    if not token and require_secrets:
        raise ConfigError("[telegram] token", "absent (ou $TELEGRAM_BOT_TOKEN)")
    if token and (":" not in token or any(c.isspace() for c in token)):
        raise ConfigError("[telegram] token", "forme inattendue (attendu « 123456:ABC... »)")
    api_url = (s.string("api_url", "https://api.telegram.org") or "").rstrip("/")
    if not api_url.startswith(("http://", "https://")):
        raise ConfigError("[telegram] api_url", "doit commencer par http:// ou https://")
    webhook_url = s.string("webhook_url")
    if webhook_url is not None and not webhook_url.startswith("https://"):
        raise ConfigError("[telegram] webhook_url", "doit commencer par https://")
    return TelegramSettings(
        token=token,
        api_url=api_url,
        username=(s.string("username") or "").lstrip("@") or None,
        webhook_url=webhook_url,
        webhook_listen=s.string("webhook_listen", "127.0.0.1") or "127.0.0.1",
        webhook_port=int(s.number("webhook_port", 8443, minimum=1)),
        webhook_secret=s.string("webhook_secret") or env.get("TELEGRAM_WEBHOOK_SECRET"),
        global_rate_per_s=s.number("global_rate_per_s", 25.0, minimum=0.1),
    )


def _matrix(
    raw: Mapping[str, Any], env: Mapping[str, str], require_secrets: bool
) -> MatrixSettings | None:
    if "matrix" not in raw:
        return None
    s = _section("matrix", raw)
    homeserver = (s.string("homeserver") or "").rstrip("/")
    if not homeserver.startswith(("http://", "https://")):
        raise ConfigError("[matrix] homeserver", "adresse http(s):// attendue")
    user_id = s.string("user_id") or ""
    if not (user_id.startswith("@") and ":" in user_id):
        raise ConfigError("[matrix] user_id", "attendu sous la forme @nom:serveur")
    password = s.string("password") or env.get("MATRIX_PASSWORD")
    token = s.string("access_token") or env.get("MATRIX_ACCESS_TOKEN")
    if not password and not token and require_secrets:
        raise ConfigError(
            "[matrix] password", "absent (ou access_token, $MATRIX_PASSWORD, $MATRIX_ACCESS_TOKEN)"
        )
    return MatrixSettings(homeserver, user_id, password=password, access_token=token)


def _schedule(s: Section) -> ScheduleSettings:
    tz_name = s.string("timezone", "Europe/Paris") or "Europe/Paris"
    try:
        tz = ZoneInfo(tz_name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(s.key("timezone"), f"fuseau horaire inconnu : {tz_name!r}") from exc
    try:
        weekly = parse_weekly_slot(s.string("weekly_digest", "fri 16:30") or "")
    except ValueError as exc:
        raise ConfigError(s.key("weekly_digest"), str(exc)) from exc
    try:
        daily = parse_clock(s.string("daily_digest", "18:00") or "")
    except ValueError as exc:
        raise ConfigError(s.key("daily_digest"), str(exc)) from exc
    try:
        quiet = parse_quiet_hours(s.string("quiet_hours", "20:00-07:30") or "")
    except ValueError as exc:
        raise ConfigError(s.key("quiet_hours"), str(exc)) from exc
    return ScheduleSettings(
        timezone=tz, weekly_digest=weekly, daily_digest=daily, quiet_hours=quiet
    )


def _delivery(s: Section) -> DeliverySettings:
    return DeliverySettings(
        grace_seconds=int(s.number("grace_seconds", 300)),
        max_attempts=int(s.number("max_attempts", 8, minimum=1)),
    )


def _audio(s: Section) -> AudioSettings:
    return AudioSettings(
        max_megabytes=s.number("max_megabytes", 50.0, minimum=0.001),
        max_minutes=s.number("max_minutes", 20.0, minimum=0.01),
        max_concurrency=int(s.number("max_concurrency", 2, minimum=1)),
    )


def _invitations(s: Section) -> InvitationSettings:
    return InvitationSettings(
        teacher_days=int(s.number("teacher_days", 7, minimum=1)),
        parent_days=int(s.number("parent_days", 30, minimum=1)),
        parent_max_uses=int(s.number("parent_max_uses", 4, minimum=1)),
    )


def _retention(s: Section) -> RetentionSettings:
    end = s.string("school_year_end", "07-31") or ""
    try:
        month, day = (int(x) for x in end.split("-"))
        date(2025, month, day)  # a real day of the year (not 02-29)
    except ValueError as exc:
        raise ConfigError(s.key("school_year_end"), f"attendu « MM-JJ », reçu {end!r}") from exc
    return RetentionSettings(school_year_end=(month, day), keep_days=int(s.number("keep_days", 0)))
