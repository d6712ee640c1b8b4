"""The SMTP mailer (standard library `smtplib`): plain, STARTTLS or TLS by URL scheme."""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate
from urllib.parse import unquote, urlsplit

from fpmreg.server.jobs import PermanentJobError, RetryableJobError
from fpmreg.server.mail import Mail

# A mail server that does not answer within this long is tried again later; far below
# the jobs' lease (`jobs.DEFAULT_LEASE_SECONDS`), so a hung send never outlives a claim.
SMTP_TIMEOUT_SECONDS = 30.0
# Scheme: (TLS from the first byte, STARTTLS required, default port).
SCHEMES = {
    "smtp": (False, False, 25),
    "smtp+starttls": (False, True, 587),
    "smtps": (True, False, 465),
}


def _smtp_code_error(code: int, what: str) -> Exception:
    # 5xx is the server's final word on this mail; 4xx (and anything else) may pass later.
    message = f"the mail server answered {code} to {what}"
    return PermanentJobError(message) if 500 <= code < 600 else RetryableJobError(message)


@dataclass(frozen=True)
class SmtpMailer:
    """Sends through one SMTP server; the password is never in its `repr` or a log."""

    host: str
    port: int
    implicit_tls: bool
    starttls: bool
    username: str
    password: str = field(repr=False)
    mail_from: str

    @classmethod
    def from_url(cls, url: str, mail_from: str) -> SmtpMailer:
        """Parse `smtp://`, `smtp+starttls://` or `smtps://[user:pass@]host[:port]`.

        `ValueError` messages never repeat the URL (it holds the password)."""
        parts = urlsplit(url)
        if parts.scheme not in SCHEMES:
            raise ValueError(
                "FPMREG_SMTP_URL must start with `smtp://`, `smtp+starttls://` or `smtps://`"
            )
        if not parts.hostname:
            raise ValueError("FPMREG_SMTP_URL names no host (`smtp://user:pass@host:port`)")
        try:
            port = parts.port
        except ValueError as exc:
            raise ValueError("FPMREG_SMTP_URL has a port that is not a number") from exc
        implicit_tls, starttls, default_port = SCHEMES[parts.scheme]
        return cls(
            host=parts.hostname,
            port=port or default_port,
            implicit_tls=implicit_tls,
            starttls=starttls,
            username=unquote(parts.username or ""),
            password=unquote(parts.password or ""),
            mail_from=mail_from,
        )

    def message(self, mail: Mail) -> EmailMessage:
        """`mail` as a plain-text RFC 5322 message."""
        message = EmailMessage()
        message["From"] = self.mail_from
        message["To"] = mail.to
        message["Subject"] = mail.subject
        message["Date"] = formatdate(usegmt=True)
        message["Message-ID"] = mail.message_id
        message.set_content(mail.body)
        return message

    def _connect(self) -> smtplib.SMTP:
        context = ssl.create_default_context()
        if self.implicit_tls:
            return smtplib.SMTP_SSL(
                self.host, self.port, timeout=SMTP_TIMEOUT_SECONDS, context=context
            )
        client = smtplib.SMTP(self.host, self.port, timeout=SMTP_TIMEOUT_SECONDS)
        if self.starttls:
            client.starttls(context=context)
        return client

    def send(self, mail: Mail) -> None:
        """Hand `mail` to the server; errors name the SMTP code, never an address."""
        try:
            with self._connect() as client:
                if self.username:
                    client.login(self.username, self.password)
                client.send_message(self.message(mail))
        except (smtplib.SMTPAuthenticationError, smtplib.SMTPSenderRefused) as exc:
            # The operator's configuration, not this mail: retried once it is fixed.
            raise RetryableJobError(
                f"the mail server refused the sender or the credentials ({exc.smtp_code}); "
                "check FPMREG_SMTP_URL and FPMREG_MAIL_FROM"
            ) from None
        except smtplib.SMTPRecipientsRefused as exc:
            code = min(code for code, _ in exc.recipients.values())
            raise _smtp_code_error(code, "the recipient") from None
        except smtplib.SMTPResponseException as exc:
            raise _smtp_code_error(exc.smtp_code, type(exc).__name__) from None
        except (smtplib.SMTPException, OSError) as exc:
            raise RetryableJobError(
                f"cannot reach the mail server ({type(exc).__name__}); will try again"
            ) from None
