"""Log in once, then reuse the same device for the bot's whole life.

``store_dir/session.json`` keeps the access token and device id (mode 0600);
``store_dir/nio/`` keeps nio's encryption store (Olm account, sessions,
device keys). A restart restores the session; a revoked token with a password
configured logs in again *on the same device id*, so the encryption identity
survives.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from nio import AsyncClient, AsyncClientConfig, LoginResponse, WhoamiResponse

from bot.ports import PermanentFailure

log = logging.getLogger(__name__)


class LoginFailed(PermanentFailure):
    """The homeserver refused the bot's credentials: no retry will help."""

    def __init__(self, detail: str) -> None:
        super().__init__("login_refused", detail)


@dataclass(frozen=True)
class Credentials:
    homeserver: str
    user_id: str
    device_id: str
    access_token: str


def _read(path: Path) -> Credentials | None:
    try:
        data = json.loads(path.read_text())
        return Credentials(**data)
    except (OSError, ValueError, TypeError):
        return None


def _write(path: Path, creds: Credentials) -> None:
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(asdict(creds), fh)
    os.replace(tmp, path)


def client_config() -> AsyncClientConfig:
    return AsyncClientConfig(
        encryption_enabled=True,
        store_sync_tokens=False,  # our own token, saved after processing
        max_limit_exceeded=0,  # a 429 comes back to us as RateLimited
        max_timeouts=2,
        request_timeout=60,
    )


async def _whoami(client: AsyncClient, token: str) -> str | None:
    """The device id behind ``token``, or None if the server refuses it."""
    client.access_token = token
    resp = await client.whoami()
    client.access_token = ""
    if isinstance(resp, WhoamiResponse) and resp.device_id:
        device_id: str = resp.device_id
        return device_id
    return None


async def open_session(
    homeserver: str,
    user_id: str,
    store_dir: Path,
    *,
    password: str | None,
    access_token: str | None,
    device_name: str,
) -> AsyncClient:
    nio_store = store_dir / "nio"
    await asyncio.to_thread(nio_store.mkdir, parents=True, exist_ok=True)
    creds_path = store_dir / "session.json"
    client = AsyncClient(homeserver, user_id, store_path=str(nio_store), config=client_config())
    saved = _read(creds_path)
    if saved and (saved.user_id != user_id or saved.homeserver != homeserver):
        saved = None

    if saved and await _whoami(client, saved.access_token) == saved.device_id:
        client.restore_login(user_id, saved.device_id, saved.access_token)
        log.info("matrix: session restored (device %s)", saved.device_id)
        return client

    if access_token:
        device_id = await _whoami(client, access_token)
        if device_id:
            client.restore_login(user_id, device_id, access_token)
            _write(creds_path, Credentials(homeserver, user_id, device_id, access_token))
            log.info("matrix: logged in with the access token (device %s)", device_id)
            return client

    if password:
        if saved:
            client.device_id = saved.device_id  # same device, same keys
        resp = await client.login(password=password, device_name=device_name)
        if isinstance(resp, LoginResponse):
            _write(creds_path, Credentials(homeserver, user_id, resp.device_id, resp.access_token))
            log.info("matrix: logged in with the password (device %s)", resp.device_id)
            return client
        await client.close()
        raise LoginFailed(f"matrix login refused: {getattr(resp, 'status_code', '')}")

    await client.close()
    raise LoginFailed("matrix: no valid session, access token or password")
