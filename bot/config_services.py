"""Settings of what runs beside the chat platforms: the database and media
stores, the web listener, e-mail, S3, metrics and the privacy texts.

Every section is optional; its settings dataclass is ``None`` (or its
defaults) when absent. Secrets come from the environment
(``DATABASE_URL``, ``SMTP_PASSWORD``, ``S3_SECRET_ACCESS_KEY``) or the file.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.config_reader import ConfigError, Section


@dataclass(frozen=True)
class WebSettings:
    public_url: str  # how families reach the service, without a trailing "/"
    listen_host: str = "127.0.0.1"
    listen_port: int = 8080


@dataclass(frozen=True)
class EmailSettings:
    sender: str
    smtp_host: str = "localhost"
    smtp_port: int = 25
    starttls: bool = False
    implicit_tls: bool = False  # TLS from the first byte (port 465)
    ca_file: str | None = None  # trust this CA instead of the system's store
    username: str = ""
    password: str | None = None  # $SMTP_PASSWORD
    attach: bool = False  # also attach the MP3 (under 5 MB)
    rate_per_minute: float = 600.0  # what the operator's relay accepts
    timeout_s: float = 30.0

    def __repr__(self) -> str:  # never print the password
        return f"EmailSettings(smtp_host={self.smtp_host!r}, smtp_port={self.smtp_port})"


@dataclass(frozen=True)
class S3Settings:
    bucket: str  # from ``[storage] media = "s3://bucket/prefix"``
    prefix: str
    endpoint_url: str
    region: str = ""
    access_key_id: str = ""
    secret_access_key: str | None = None

    def __repr__(self) -> str:
        return f"S3Settings(endpoint_url={self.endpoint_url!r}, bucket={self.bucket!r})"


@dataclass(frozen=True)
class MetricsSettings:
    listen_host: str = "127.0.0.1"
    listen_port: int = 9464


@dataclass(frozen=True)
class PrivacySettings:
    # None: the built-in French text (with its translations) is used.
    consent_text: str | None = None
    # True: /ecoutes names the families who listened (they must be told).
    listen_details: bool = False


STORAGE_KEYS = ("data_dir", "database", "media")
WEB_KEYS = ("public_url", "listen")
EMAIL_KEYS = (
    "smtp_host",
    "smtp_port",
    "starttls",
    "implicit_tls",
    "ca_file",
    "username",
    "password",
    "sender",
    "attach",
    "rate_per_minute",
    "timeout_s",
)
S3_KEYS = ("endpoint_url", "region", "access_key_id", "secret_access_key")
METRICS_KEYS = ("listen",)
PRIVACY_KEYS = ("consent_text", "listen_details")


def database(storage: Section, env: Mapping[str, str]) -> str | None:
    """``[storage] database`` or ``$DATABASE_URL``: a PostgreSQL server
    instead of the embedded SQLite file."""
    url = storage.string("database") or env.get("DATABASE_URL") or ""
    if not url:
        return None
    if not url.startswith(("postgresql://", "postgres://")):
        raise ConfigError(storage.key("database"), "adresse postgresql://… attendue")
    return url


def web(raw: Mapping[str, Any]) -> WebSettings | None:
    if "web" not in raw:
        return None
    s = Section("web", raw["web"], WEB_KEYS)
    public_url = (s.string("public_url") or "").rstrip("/")
    if not public_url.startswith(("https://", "http://")):
        raise ConfigError(s.key("public_url"), "adresse https://… attendue")
    host, port = s.address("listen", "127.0.0.1:8080")
    return WebSettings(public_url, host, port)


def email(
    raw: Mapping[str, Any], env: Mapping[str, str], has_web: bool, base: Path = Path()
) -> EmailSettings | None:
    """``base``: where a relative ``ca_file`` is found (the config's folder)."""
    if "email" not in raw:
        return None
    s = Section("email", raw["email"], EMAIL_KEYS)
    if not has_web:
        # Every e-mail is links to the family's page: nothing to link to.
        raise ConfigError("[email]", "demande aussi la section [web]")
    sender = s.string("sender") or ""
    if "@" not in sender:
        raise ConfigError(s.key("sender"), "une adresse d'expéditeur est attendue")
    port = int(s.number("smtp_port", 25, minimum=1))
    starttls = s.boolean("starttls", False)
    # Port 465 speaks TLS from the first byte unless told otherwise.
    implicit_tls = s.boolean("implicit_tls", port == 465 and not starttls)
    if starttls and implicit_tls:
        raise ConfigError(s.key("implicit_tls"), "starttls ou implicit_tls, pas les deux")
    ca_file = s.string("ca_file") or None
    if ca_file is not None:
        ca_file = str(base / ca_file)  # an absolute path stays as it is
        if not Path(ca_file).is_file():
            raise ConfigError(s.key("ca_file"), "fichier introuvable")
    return EmailSettings(
        sender=sender,
        smtp_host=s.string("smtp_host", "localhost") or "localhost",
        smtp_port=port,
        starttls=starttls,
        implicit_tls=implicit_tls,
        ca_file=ca_file,
        username=s.string("username", "") or "",
        password=s.string("password") or env.get("SMTP_PASSWORD"),
        attach=s.boolean("attach", False),
        rate_per_minute=s.number("rate_per_minute", 600.0, minimum=1),
        timeout_s=s.number("timeout_s", 30.0, minimum=1),
    )


def s3(raw: Mapping[str, Any], storage: Section, env: Mapping[str, str]) -> S3Settings | None:
    media = storage.string("media") or ""
    if not media:
        if "s3" in raw:
            Section("s3", raw["s3"], S3_KEYS)  # still refuse its unknown keys
        return None
    if not media.startswith("s3://") or not media[5:].split("/", 1)[0]:
        raise ConfigError(storage.key("media"), "attendu « s3://seau/préfixe »")
    bucket, _, prefix = media[5:].partition("/")
    if "s3" not in raw:
        raise ConfigError("[s3]", f"section absente (nécessaire pour media = {media!r})")
    s = Section("s3", raw["s3"], S3_KEYS)
    endpoint = (s.string("endpoint_url") or "").rstrip("/")
    if not endpoint.startswith(("https://", "http://")):
        raise ConfigError(s.key("endpoint_url"), "adresse http(s):// attendue")
    return S3Settings(
        bucket=bucket,
        prefix=prefix.strip("/"),
        endpoint_url=endpoint,
        region=s.string("region", "") or "",
        access_key_id=s.string("access_key_id", "") or "",
        secret_access_key=s.string("secret_access_key") or env.get("S3_SECRET_ACCESS_KEY"),
    )


def metrics(raw: Mapping[str, Any]) -> MetricsSettings | None:
    if "metrics" not in raw:
        return None
    s = Section("metrics", raw["metrics"], METRICS_KEYS)
    host, port = s.address("listen", "127.0.0.1:9464")
    return MetricsSettings(host, port)


def privacy(raw: Mapping[str, Any]) -> PrivacySettings:
    s = Section("privacy", raw.get("privacy"), PRIVACY_KEYS)
    text = s.string("consent_text")
    if text is not None and not text.strip():
        raise ConfigError(s.key("consent_text"), "texte vide")
    return PrivacySettings(
        consent_text=text.strip() if text else None,
        listen_details=s.boolean("listen_details", False),
    )
