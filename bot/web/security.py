"""What every answer carries, and the limit on guessed links.

No third-party asset is ever loaded (the CSP says so to the browser), no
address leaves through a Referer, and nothing is indexed.
"""

from __future__ import annotations

import collections
import ipaddress

from aiohttp import web

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "media-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'none'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex, nofollow",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Resource-Policy": "same-origin",
}


async def add_headers(request: web.Request, response: web.StreamResponse) -> None:
    """``on_response_prepare``: every answer, errors and files included."""
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    # Pages and feeds carry a private link: no shared cache may keep them.
    response.headers.setdefault("Cache-Control", "private, no-store")


def client_address(request: web.Request) -> str:
    """The caller's address. Behind the operator's proxy on this machine the
    peer is loopback; the proxy's last X-Forwarded-For entry is the client
    (the README's nginx and Caddy snippets set it)."""
    peer = request.remote or ""
    try:
        local = ipaddress.ip_address(peer).is_loopback
    except ValueError:
        local = peer == ""
    forwarded = request.headers.get("X-Forwarded-For", "")
    if local and forwarded:
        return forwarded.split(",")[-1].strip()
    return peer


class FailedLookups:
    """Unknown links (family tokens, invitation codes) per address, in memory
    only: past ``limit`` in ``window_s`` that address gets no answer about
    any link until the window has passed."""

    def __init__(self, limit: int = 20, window_s: float = 600.0, max_addresses: int = 10_000):
        self.limit = limit
        self.window_s = window_s
        self.max_addresses = max_addresses
        self._failures: dict[str, collections.deque[float]] = {}

    def _recent(self, address: str, now: float) -> collections.deque[float] | None:
        failures = self._failures.get(address)
        if failures is None:
            return None
        while failures and failures[0] <= now - self.window_s:
            failures.popleft()
        if not failures:
            del self._failures[address]
            return None
        return failures

    def blocked(self, address: str, now: float) -> bool:
        failures = self._recent(address, now)
        return failures is not None and len(failures) >= self.limit

    def failed(self, address: str, now: float) -> None:
        if len(self._failures) >= self.max_addresses:
            for known in list(self._failures):
                self._recent(known, now)
            if len(self._failures) >= self.max_addresses:  # a flood: forget the oldest
                self._failures.pop(next(iter(self._failures)))
        self._failures.setdefault(address, collections.deque()).append(now)
