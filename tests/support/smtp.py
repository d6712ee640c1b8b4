"""A real SMTP server on loopback (aiosmtpd) that keeps what it receives."""

from __future__ import annotations

import asyncio
import email
import threading
import time
from email.message import Message
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from tests.support.live import free_port

# A hung session is held at most this long (then the test's own timeout tells).
HANG_SECONDS = 120


class SmtpSink:
    """An SMTP server that stores every accepted mail.

    `fail_first` answers the first N mails' DATA with `451` (a transient failure);
    `hang_first` holds the first N sessions at MAIL FROM without an answer (a worker
    killed mid-send); `delay_seconds` slows every mail down (so workers overlap)."""

    def __init__(
        self,
        *,
        fail_first: int = 0,
        hang_first: int = 0,
        delay_seconds: float = 0,
        credentials: tuple[str, str] | None = None,
    ):
        self.port = free_port()
        self.url = f"smtp://127.0.0.1:{self.port}"
        self.fail_first = fail_first
        self.hang_first = hang_first
        self.delay_seconds = delay_seconds
        self.messages: list[Message] = []
        self.refused = 0
        self.hanging = threading.Event()  # set once a session is being held
        self.receiving = threading.Event()  # set once a mail's DATA has arrived
        self._lock = threading.Lock()
        self.credentials = credentials
        auth: dict[str, Any] = {}
        if credentials is not None:  # AUTH over plain loopback: no TLS in the test
            auth = {"authenticator": self._authenticate, "auth_require_tls": False}
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port, **auth)

    def _authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any
    ) -> AuthResult:
        ok = isinstance(data, LoginPassword) and self.credentials == (
            data.login.decode(),
            data.password.decode(),
        )
        return AuthResult(success=ok, handled=False)

    async def handle_MAIL(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        with self._lock:
            hang = self.hang_first > 0
            self.hang_first -= hang
        if hang:
            self.hanging.set()
            await asyncio.sleep(HANG_SECONDS)
        envelope.mail_from = address
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.receiving.set()
        if self.delay_seconds:
            await asyncio.sleep(self.delay_seconds)
        with self._lock:
            if self.fail_first > 0:
                self.fail_first -= 1
                self.refused += 1
                return "451 4.3.0 try again later"
            self.messages.append(email.message_from_bytes(envelope.content))
        return "250 Message accepted"

    def subjects(self) -> list[str]:
        with self._lock:
            return [str(m["Subject"]) for m in self.messages]

    def wait_for(self, count: int, timeout: float = 30) -> list[Message]:
        """Wait until `count` mails arrived; returns them (fewer if it timed out)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and len(self.messages) < count:
            time.sleep(0.05)
        with self._lock:
            return list(self.messages)

    def __enter__(self) -> SmtpSink:
        self._controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._controller.stop()
