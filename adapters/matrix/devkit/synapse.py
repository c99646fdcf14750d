"""A throwaway Synapse homeserver on 127.0.0.1, and its admin API.

``SynapseServer.start(workdir)`` writes a config (SQLite, one client listener
on a free loopback port, no federation, no public registration, a shared
registration secret), starts ``python -m synapse.app.homeserver`` and waits
until ``/_matrix/client/versions`` answers. A start-up failure raises
:class:`SynapseStartError` carrying the end of Synapse's log.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SERVER_NAME = "petitesvoix.test"
START_TIMEOUT_S = 60.0


class SynapseStartError(RuntimeError):
    """Synapse did not come up; the message ends with its log."""


@dataclass(frozen=True)
class RegisteredUser:
    user_id: str
    password: str
    access_token: str
    device_id: str


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _signing_key() -> str:
    seed = base64.b64encode(os.urandom(32)).decode().rstrip("=")
    return f"ed25519 a_{secrets.token_hex(2)} {seed}\n"


def _config(workdir: Path, port: int, shared_secret: str) -> dict[str, Any]:
    loose = {"per_second": 1000, "burst_count": 10000}
    return {
        "server_name": SERVER_NAME,
        "public_baseurl": f"http://127.0.0.1:{port}/",
        "pid_file": str(workdir / "homeserver.pid"),
        "listeners": [
            {
                "port": port,
                "bind_addresses": ["127.0.0.1"],
                "type": "http",
                "tls": False,
                "x_forwarded": False,
                "resources": [{"names": ["client"], "compress": False}],
            }
        ],
        "database": {"name": "sqlite3", "args": {"database": str(workdir / "homeserver.db")}},
        "log_config": str(workdir / "log.yaml"),
        "media_store_path": str(workdir / "media_store"),
        "signing_key_path": str(workdir / "signing.key"),
        "registration_shared_secret": shared_secret,
        "enable_registration": False,
        "report_stats": False,
        "macaroon_secret_key": secrets.token_hex(16),
        "form_secret": secrets.token_hex(16),
        "suppress_key_server_warning": True,
        "trusted_key_servers": [],
        "federation_domain_whitelist": [],
        "enable_authenticated_media": True,
        "enable_metrics": False,
        "url_preview_enabled": False,
        "presence": {"enabled": False},
        "max_upload_size": "50M",
        # rc_message (0.2/s, burst 10) stays at Synapse's default: the bot lifts
        # it through the admin API as an operator would. Logins, registrations,
        # invitations and joins are loosened: tests and benchmarks make many
        # users from one loopback address within seconds.
        "rc_login": {"address": loose, "account": loose, "failed_attempts": loose},
        "rc_registration": loose,
        "rc_joins": {"local": loose, "remote": loose},
        "rc_joins_per_room": loose,
        "rc_invites": {"per_room": loose, "per_user": loose, "per_issuer": loose},
        "rc_room_creation": loose,
    }


_LOG_CONFIG = """\
version: 1
formatters:
  precise:
    format: '%(asctime)s %(name)s %(levelname)s %(message)s'
handlers:
  file:
    class: logging.FileHandler
    formatter: precise
    filename: {path}
loggers:
  synapse.storage.SQL:
    level: WARNING
root:
  level: {level}
  handlers: [file]
disable_existing_loggers: false
"""


class SynapseServer:
    """One homeserver process. Use :meth:`start` and :meth:`stop`."""

    def __init__(self, workdir: Path, port: int, shared_secret: str) -> None:
        self.workdir = workdir
        self.port = port
        self.shared_secret = shared_secret
        self.url = f"http://127.0.0.1:{port}"
        self.server_name = SERVER_NAME
        self.log_path = workdir / "homeserver.log"
        self._proc: subprocess.Popen[bytes] | None = None
        self._admin: RegisteredUser | None = None

    # -- life cycle ---------------------------------------------------------

    @classmethod
    def start(cls, workdir: Path, *, log_level: str = "INFO") -> SynapseServer:
        workdir.mkdir(parents=True, exist_ok=True)
        server = cls(workdir, free_port(), secrets.token_hex(16))
        config = _config(workdir, server.port, server.shared_secret)
        # JSON is valid YAML: no YAML writer needed.
        (workdir / "homeserver.yaml").write_text(json.dumps(config, indent=1))
        (workdir / "log.yaml").write_text(_LOG_CONFIG.format(path=server.log_path, level=log_level))
        (workdir / "signing.key").write_text(_signing_key())
        (workdir / "media_store").mkdir(exist_ok=True)
        server._launch()
        return server

    def _launch(self) -> None:
        stdout = (self.workdir / "stdout.log").open("ab")
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "synapse.app.homeserver", "-c", "homeserver.yaml"],
            cwd=self.workdir,
            stdout=stdout,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        stdout.close()
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise SynapseStartError(
                    f"Synapse exited with code {self._proc.returncode}\n{self.log_tail()}"
                )
            try:
                with urllib.request.urlopen(f"{self.url}/_matrix/client/versions", timeout=1):
                    return
            except (urllib.error.URLError, OSError):
                time.sleep(0.1)
        self.stop()
        raise SynapseStartError(
            f"Synapse did not answer in {START_TIMEOUT_S:.0f}s\n{self.log_tail()}"
        )

    def log_tail(self, lines: int = 60) -> str:
        text = ""
        for name in ("stdout.log", "homeserver.log"):
            path = self.workdir / name
            if path.exists():
                text += f"--- {name} ---\n" + "\n".join(
                    path.read_text(errors="replace").splitlines()[-lines:]
                )
                text += "\n"
        return text

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)

    def __enter__(self) -> SynapseServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- admin API ----------------------------------------------------------

    def _request(
        self, method: str, path: str, body: dict[str, Any] | None = None, token: str | None = None
    ) -> dict[str, Any]:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(f"{self.url}{path}", data=data, method=method)
        req.add_header("Content-Type", "application/json")
        if token:
            req.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                result: dict[str, Any] = json.loads(resp.read() or b"{}")
                return result
        except urllib.error.HTTPError as err:
            raise RuntimeError(f"{method} {path}: {err.code} {err.read()[:300]!r}") from err

    def register(
        self, localpart: str, password: str | None = None, *, admin: bool = False
    ) -> RegisteredUser:
        """Create a user through the shared-secret admin API (HMAC-SHA1)."""
        password = password or secrets.token_urlsafe(12)
        nonce = self._request("GET", "/_synapse/admin/v1/register")["nonce"]
        role = "admin" if admin else "notadmin"
        mac = hmac.new(
            self.shared_secret.encode(),
            b"\x00".join(p.encode() for p in (nonce, localpart, password, role)),
            hashlib.sha1,
        )
        body = {
            "nonce": nonce,
            "username": localpart,
            "password": password,
            "admin": admin,
            "mac": mac.hexdigest(),
        }
        result = self._request("POST", "/_synapse/admin/v1/register", body)
        return RegisteredUser(
            user_id=result["user_id"],
            password=password,
            access_token=result["access_token"],
            device_id=result["device_id"],
        )

    def admin(self) -> RegisteredUser:
        if self._admin is None:
            self._admin = self.register(f"admin-{secrets.token_hex(3)}", admin=True)
        return self._admin

    def lift_rate_limit(self, user_id: str) -> None:
        """What an operator does for the bot: no message rate limit."""
        self._request(
            "POST",
            f"/_synapse/admin/v1/users/{urllib.parse.quote(user_id)}/override_ratelimit",
            {"messages_per_second": 0, "burst_count": 0},
            token=self.admin().access_token,
        )

    def user_devices(self, user_id: str) -> list[str]:
        result = self._request(
            "GET",
            f"/_synapse/admin/v2/users/{urllib.parse.quote(user_id)}/devices",
            token=self.admin().access_token,
        )
        return [d["device_id"] for d in result.get("devices", [])]

    async def aregister(
        self, localpart: str, password: str | None = None, *, admin: bool = False
    ) -> RegisteredUser:
        return await asyncio.to_thread(self.register, localpart, password, admin=admin)

    async def alift_rate_limit(self, user_id: str) -> None:
        await asyncio.to_thread(self.lift_rate_limit, user_id)
