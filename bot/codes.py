"""Invitation codes: random, URL-safe, stored only as hashes."""

from __future__ import annotations

import hashlib
import re
import secrets

# 24 random bytes -> 32 characters of [A-Za-z0-9_-]: 192 bits, fits a
# Telegram deep link (64 characters at most).
_CODE_BYTES = 24
CODE_PATTERN = re.compile(r"^[A-Za-z0-9_-]{20,64}$")


def new_code() -> str:
    return secrets.token_urlsafe(_CODE_BYTES)


def hash_code(code: str) -> str:
    return hashlib.sha256(code.encode("ascii", "replace")).hexdigest()


def looks_like_code(text: str) -> bool:
    return bool(CODE_PATTERN.match(text))
