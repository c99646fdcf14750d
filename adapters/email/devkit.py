"""A real SMTP server on loopback (aiosmtpd) for the e-mail tests, the demo
and the benchmark: it keeps what it receives, parsed with the standard
``email`` package, and refuses or defers chosen addresses like a relay.
aiosmtpd comes with the test tools, not with the service."""

from __future__ import annotations

import socket
import ssl
import threading
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any, Literal

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Received:
    to: str
    mail: EmailMessage

    def text(self) -> str:
        part = self.mail.get_body(("plain",))
        assert part is not None
        return str(part.get_content())

    def html(self) -> str:
        part = self.mail.get_body(("html",))
        assert part is not None
        return str(part.get_content())


@dataclass
class Relay:
    """What the handler does: ``refuse`` answers 550 to an address, ``defer``
    answers 451 that many times before accepting."""

    received: list[Received] = field(default_factory=list)
    refuse: set[str] = field(default_factory=set)
    defer: dict[str, int] = field(default_factory=dict)
    rcpt_answers: list[str] = field(default_factory=list)
    keep_parsed: bool = True
    count: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    # username -> password the relay accepts (empty: no login asked), and
    # each login tried: (mechanism, username, accepted).
    logins: dict[str, str] = field(default_factory=dict)
    login_attempts: list[tuple[str, str, bool]] = field(default_factory=list)

    def authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> AuthResult:
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        user = auth_data.login.decode()
        ok = user in self.logins and self.logins[user] == auth_data.password.decode()
        with self.lock:
            self.login_attempts.append((mechanism, user, ok))
        return AuthResult(success=ok, handled=False)

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: Any
    ) -> str:
        with self.lock:
            if address in self.refuse:
                answer = "550 5.1.1 Mailbox unavailable"
            elif self.defer.get(address, 0) > 0:
                self.defer[address] -= 1
                answer = "451 4.7.1 Try again later"
            else:
                envelope.rcpt_tos.append(address)
                answer = "250 OK"
            self.rcpt_answers.append(answer[:3])
        return answer

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            self.count += len(envelope.rcpt_tos)
            if self.keep_parsed:
                mail = message_from_bytes(envelope.content, policy=policy.default)
                assert isinstance(mail, EmailMessage)
                for rcpt in envelope.rcpt_tos:
                    self.received.append(Received(rcpt, mail))
        return "250 Message accepted"

    def to(self, address: str) -> list[Received]:
        with self.lock:
            return [r for r in self.received if r.to == address]


class SmtpServer:
    """Started and stopped on the same port, so that a test can take the
    relay down in the middle of a fan-out and bring it back.

    ``tls`` with ``context`` (the server's certificate): ``starttls`` offers
    and requires STARTTLS before anything else, ``implicit`` speaks TLS from
    the first byte (port 465 style). With ``relay.logins`` set, sending needs
    a login (AUTH PLAIN or LOGIN), only after TLS when there is TLS."""

    def __init__(
        self,
        relay: Relay | None = None,
        *,
        tls: Literal["starttls", "implicit"] | None = None,
        context: ssl.SSLContext | None = None,
    ) -> None:
        if (tls is None) != (context is None):
            raise ValueError("tls and context go together")
        self.relay = relay or Relay()
        self.port = free_port()
        self.tls = tls
        self.context = context
        self._controller: Controller | None = None

    def start(self) -> None:
        options: dict[str, Any] = {}
        if self.relay.logins:
            options |= {
                "authenticator": self.relay.authenticate,
                "auth_required": True,
                # Implicit TLS is TLS already; with STARTTLS, no login before it.
                "auth_require_tls": self.tls == "starttls",
            }
        if self.tls == "starttls":
            options |= {"tls_context": self.context, "require_starttls": True}
        elif self.tls == "implicit":
            options |= {"ssl_context": self.context}
        controller = Controller(self.relay, hostname="127.0.0.1", port=self.port, **options)
        controller.start()
        self._controller = controller

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None
