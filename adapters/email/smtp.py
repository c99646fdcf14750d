"""A small pool of SMTP connections, and what the relay's answers mean for
the outbox: 5xx for an address ends that family's e-mail, 4xx is tried again
later, a relay out of reach pauses e-mail only."""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass
from email.message import EmailMessage

import aiosmtplib

from bot.ports import PermanentFailure, PlatformUnavailable, RecipientGone, TransientFailure

IMPLICIT_TLS_PORT = 465


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    sender: str
    starttls: bool = False
    username: str = ""
    password: str | None = None
    timeout_s: float = 30.0
    connections: int = 16
    # A relay out of reach pauses e-mail this long at first, then as long as
    # it has been down (at most ``pause_max_s``).
    pause_min_s: float = 5.0
    pause_max_s: float = 300.0

    def __repr__(self) -> str:  # never print the password
        return f"SmtpSettings(host={self.host!r}, port={self.port})"


class SmtpPool:
    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings
        self._idle: list[aiosmtplib.SMTP] = []
        self._slots = asyncio.Semaphore(settings.connections)
        self._down_since: float | None = None  # monotonic time of the first failure

    async def _open(self) -> aiosmtplib.SMTP:
        s = self.settings
        client = aiosmtplib.SMTP(
            hostname=s.host,
            port=s.port,
            use_tls=s.port == IMPLICIT_TLS_PORT,
            start_tls=s.starttls,  # False: never (a local relay may offer a self-signed one)
            timeout=s.timeout_s,
        )
        await client.connect()
        if s.username:
            await client.login(s.username, s.password or "")
        return client

    async def send(self, mail: EmailMessage, recipient: str) -> None:
        async with self._slots:
            client = self._idle.pop() if self._idle else None
            reused = client is not None
            try:
                if client is None or not client.is_connected:
                    reused = False
                    client = await self._open()
                try:
                    await client.send_message(
                        mail, sender=self.settings.sender, recipients=[recipient]
                    )
                except aiosmtplib.SMTPServerDisconnected:
                    if not reused:
                        raise
                    # The relay closed an idle connection: one fresh try.
                    client = await self._open()
                    await client.send_message(
                        mail, sender=self.settings.sender, recipients=[recipient]
                    )
            except Exception as exc:
                if client is not None and not _keeps_connection(exc):
                    await _close(client)
                    client = None
                meaning = _meaning(exc)
                if isinstance(meaning, PlatformUnavailable):
                    meaning.retry_after = self._pause()
                raise meaning from exc
            finally:
                if client is not None and client.is_connected:
                    self._idle.append(client)
            self._down_since = None

    def _pause(self) -> float:
        """Grows with the outage, however many sends were in flight."""
        now = time.monotonic()
        if self._down_since is None:
            self._down_since = now
        s = self.settings
        return min(s.pause_max_s, max(s.pause_min_s, now - self._down_since))

    async def close(self) -> None:
        idle, self._idle = self._idle, []
        for client in idle:
            await _close(client)


def _keeps_connection(exc: Exception) -> bool:
    """A refusal of one address or message leaves the session usable."""
    return isinstance(
        exc, aiosmtplib.SMTPRecipientsRefused | aiosmtplib.SMTPResponseException
    ) and not isinstance(exc, aiosmtplib.SMTPServerDisconnected)


async def _close(client: aiosmtplib.SMTP) -> None:
    with contextlib.suppress(Exception):
        await client.quit()
    with contextlib.suppress(Exception):
        client.close()


def _meaning(exc: Exception, pause_s: float = 0.0) -> Exception:
    """The port's error for an SMTP failure. Never the address in it."""
    match exc:
        case aiosmtplib.SMTPRecipientsRefused():
            codes = [r.code for r in exc.recipients] or [550]
            return _coded(codes[0], recipient=True)
        case aiosmtplib.SMTPAuthenticationError():
            return PlatformUnavailable(pause_s, f"authentication refused ({exc.code})")
        case aiosmtplib.SMTPConnectError() | aiosmtplib.SMTPConnectTimeoutError():
            return PlatformUnavailable(pause_s, type(exc).__name__)
        case aiosmtplib.SMTPServerDisconnected():
            return TransientFailure("smtp_disconnected")
        case aiosmtplib.SMTPResponseException():
            return _coded(exc.code, recipient=False)
        case aiosmtplib.SMTPTimeoutError() | TimeoutError():
            return TransientFailure("smtp_timeout")
        case OSError():
            return PlatformUnavailable(pause_s, type(exc).__name__)
        case _:
            return exc


def _coded(code: int, *, recipient: bool) -> Exception:
    if 500 <= code < 600:
        if recipient:
            return RecipientGone(f"email_refused_{code}")
        return PermanentFailure(f"email_rejected_{code}")
    return TransientFailure(f"smtp_{code}")
