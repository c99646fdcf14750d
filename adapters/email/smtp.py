"""A small pool of SMTP connections, and what the relay's answers mean for
the outbox: 5xx for an address ends that family's e-mail, 4xx is tried again
later, a relay out of reach pauses e-mail only."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import ssl
import time
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import parseaddr

import aiosmtplib

from bot.ports import PermanentFailure, PlatformUnavailable, RecipientGone, TransientFailure

IMPLICIT_TLS_PORT = 465

log = logging.getLogger("petites_voix.email")


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    sender: str
    starttls: bool = False
    # None: implicit TLS on port 465 only (the port's convention).
    implicit_tls: bool | None = None
    # A CA file to trust instead of the system store (a relay with its own CA).
    ca_file: str | None = None
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

    @property
    def uses_implicit_tls(self) -> bool:
        if self.implicit_tls is None:
            return self.port == IMPLICIT_TLS_PORT and not self.starttls
        return self.implicit_tls

    def tls_context(self) -> ssl.SSLContext:
        """Certificates always checked: the system's store, or ``ca_file``."""
        return ssl.create_default_context(cafile=self.ca_file)


class SmtpPool:
    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings
        self._idle: list[aiosmtplib.SMTP] = []
        self._slots = asyncio.Semaphore(settings.connections)
        self._down_since: float | None = None  # monotonic time of the first failure
        self._told: str | None = None  # what the operator was last told about
        self._tls: ssl.SSLContext | None = None
        # The envelope's sender, read once from "Name <address>" (aiosmtplib
        # would parse it twice for each e-mail).
        self._envelope_sender = parseaddr(settings.sender)[1] or settings.sender

    async def _open(self) -> aiosmtplib.SMTP:
        s = self.settings
        tls = s.uses_implicit_tls or s.starttls
        if tls and self._tls is None:
            self._tls = s.tls_context()
        client = aiosmtplib.SMTP(
            hostname=s.host,
            port=s.port,
            use_tls=s.uses_implicit_tls,
            start_tls=s.starttls,  # False: never (a local relay may offer a self-signed one)
            tls_context=self._tls if tls else None,
            timeout=s.timeout_s,
        )
        try:
            await client.connect()
            if s.username:
                await client.login(s.username, s.password or "")
        except BaseException:
            await _close(client)
            raise
        return client

    async def send(self, mail: EmailMessage | bytes, recipient: str) -> None:
        """``mail``: a message, or one already in SMTP's bytes (7-bit)."""
        async with self._slots:
            client = self._idle.pop() if self._idle else None
            reused = client is not None
            try:
                if client is None or not client.is_connected:
                    reused = False
                    client = await self._open()
                try:
                    await self._transmit(client, mail, recipient)
                except aiosmtplib.SMTPServerDisconnected:
                    if not reused:
                        raise
                    # The relay closed an idle connection: one fresh try.
                    client = await self._open()
                    await self._transmit(client, mail, recipient)
            except Exception as exc:
                if client is not None and not _keeps_connection(exc):
                    await _close(client)
                    client = None
                meaning = _meaning(exc)
                if isinstance(meaning, PlatformUnavailable):
                    meaning.retry_after = self._pause()
                    self._tell_operator(exc, meaning.retry_after)
                raise meaning from exc
            finally:
                if client is not None and client.is_connected:
                    self._idle.append(client)
            self._down_since = None
            if self._told is not None:
                self._told = None
                log.warning("Le serveur SMTP accepte de nouveau les e-mails.")

    async def _transmit(
        self, client: aiosmtplib.SMTP, mail: EmailMessage | bytes, recipient: str
    ) -> None:
        sender = self._envelope_sender
        if isinstance(mail, bytes):
            await client.sendmail(sender, [recipient], mail)
        else:
            await client.send_message(mail, sender=sender, recipients=[recipient])

    def _tell_operator(self, exc: Exception, pause_s: float) -> None:
        """One French line per kind of outage (not one per waiting e-mail):
        what is wrong and what to check. The e-mails wait, none is lost."""
        words = _operator_words(exc, self.settings)
        if words == self._told:
            return
        self._told = words
        log.error(
            "%s Les e-mails attendent et repartiront seuls (nouvel essai dans %d s).",
            words,
            math.ceil(pause_s),
        )

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


def _operator_words(exc: Exception, s: SmtpSettings) -> str:
    where = f"{s.host}:{s.port}"
    if isinstance(exc, aiosmtplib.SMTPAuthenticationError):
        return (
            f"Le serveur SMTP {where} refuse l'identifiant ou le mot de passe ({exc.code}) : "
            "vérifiez [email] username et la variable SMTP_PASSWORD."
        )
    if isinstance(exc, ssl.SSLCertVerificationError) or isinstance(
        exc.__cause__, ssl.SSLCertVerificationError
    ):
        return (
            f"Le certificat TLS du serveur SMTP {where} n'est pas reconnu : vérifiez [email] "
            "smtp_host, ou indiquez l'autorité qui l'a signé dans [email] ca_file."
        )
    if isinstance(exc, aiosmtplib.SMTPNotSupported):
        return (
            f"Le serveur SMTP {where} ne propose pas ce que demande la configuration "
            "(STARTTLS ou identification) : vérifiez [email] smtp_port, starttls et implicit_tls."
        )
    return f"Le serveur SMTP {where} ne répond pas ({type(exc).__name__})."


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
        case aiosmtplib.SMTPNotSupported():
            # STARTTLS or AUTH asked of a relay that does not offer it.
            return PlatformUnavailable(pause_s, "smtp_not_supported")
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
