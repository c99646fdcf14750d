"""The service's own secret: links it can recognise later without storing
them (an unsubscribe link), and small sealed payloads a link may carry
without anyone reading them (the address in an e-mail confirmation link,
stored nowhere until it is confirmed).

The key lives in ``data_dir/signing.key`` (mode 0600), created at first
start. Losing it only breaks links already sent.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken

KEY_FILE = "signing.key"


class Signer:
    def __init__(self, key: bytes) -> None:
        self._key = key
        self._purposes: dict[str, bytes] = {}  # each purpose's key, derived once

    @classmethod
    def at(cls, data_dir: Path) -> Signer:
        path = data_dir / KEY_FILE
        if not path.exists():
            data_dir.mkdir(parents=True, exist_ok=True)
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                pass  # another process made it first: read theirs
            else:
                with os.fdopen(fd, "wb") as out:
                    out.write(secrets.token_bytes(32))
        return cls(path.read_bytes())

    def _derived(self, purpose: str) -> bytes:
        key = self._purposes.get(purpose)
        if key is None:
            key = hmac.new(self._key, f"pv:{purpose}".encode(), hashlib.sha256).digest()
            self._purposes[purpose] = key
        return key

    def mac(self, purpose: str, *parts: str) -> str:
        """128 bits of HMAC over ``parts``, URL-safe."""
        message = "\x1f".join(parts).encode()
        digest = hmac.new(self._derived(purpose), message, hashlib.sha256).digest()[:16]
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")

    def check(self, purpose: str, given: str, *parts: str) -> bool:
        return hmac.compare_digest(self.mac(purpose, *parts), given)

    def _fernet(self, purpose: str) -> Fernet:
        return Fernet(base64.urlsafe_b64encode(self._derived(f"seal:{purpose}")))

    def seal(self, purpose: str, payload: dict[str, Any], now_s: int) -> str:
        """Encrypted and authenticated, URL-safe; ``now_s`` (Unix time) dates it."""
        data = json.dumps(payload, separators=(",", ":")).encode()
        token = self._fernet(purpose).encrypt_at_time(data, now_s)
        return token.decode().rstrip("=")

    def unseal(self, purpose: str, token: str, now_s: int, max_age_s: int) -> dict[str, Any] | None:
        """The payload, or None when forged, damaged or older than ``max_age_s``."""
        padded = token + "=" * (-len(token) % 4)
        try:
            data = self._fernet(purpose).decrypt_at_time(padded.encode(), max_age_s, now_s)
            payload = json.loads(data)
        except (InvalidToken, ValueError, UnicodeError):
            return None
        return payload if isinstance(payload, dict) else None
