"""Typed reads of the TOML tables, each error naming its key.

A key a section does not know stops start-up too (a misspelt
``databse`` must not be silently ignored), naming the key it resembles.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Any


class ConfigError(Exception):
    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"configuration invalide : {key} : {problem}")
        self.key = key


def unknown(key: str, known: Iterable[str]) -> str:
    """« clé inconnue », with the closest known name when there is one."""
    close = difflib.get_close_matches(key, sorted(known), n=1, cutoff=0.6)
    return f"inconnue (vouliez-vous dire « {close[0]} » ?)" if close else "inconnue"


class Section:
    """One TOML table. ``keys`` are all the names it accepts."""

    def __init__(self, name: str, raw: Any, keys: Iterable[str]) -> None:
        if raw is None:
            raw = {}
        if not isinstance(raw, dict):
            raise ConfigError(f"[{name}]", "une table TOML est attendue")
        self.name = name
        self.raw: dict[str, Any] = raw
        allowed = set(keys)
        for k in raw:
            if k not in allowed:
                raise ConfigError(self.key(k), "clé " + unknown(k, allowed))

    def key(self, k: str) -> str:
        return f"[{self.name}] {k}"

    def string(self, k: str, default: str | None = None) -> str | None:
        value = self.raw.get(k, default)
        if value is not None and not isinstance(value, str):
            raise ConfigError(self.key(k), "une chaîne entre guillemets est attendue")
        return value

    def number(self, k: str, default: float, *, minimum: float = 0) -> float:
        value = self.raw.get(k, default)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(self.key(k), "un nombre est attendu")
        if value < minimum:
            raise ConfigError(self.key(k), f"doit être au moins {minimum:g}")
        return float(value)

    def boolean(self, k: str, default: bool) -> bool:
        value = self.raw.get(k, default)
        if not isinstance(value, bool):
            raise ConfigError(self.key(k), "true ou false attendu")
        return value

    def address(self, k: str, default: str) -> tuple[str, int]:
        """``"127.0.0.1:9464"`` -> host and port (``[::1]:9464`` for IPv6)."""
        text = self.string(k, default) or ""
        host, sep, port = text.rpartition(":")
        host = host.strip("[]")
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ConfigError(self.key(k), f"attendu « hôte:port », reçu {text!r}")
        return host, int(port)
