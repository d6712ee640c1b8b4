"""The mailer used when no SMTP server is configured: mail is dropped, and the job done."""

from __future__ import annotations

import logging

from fpmreg.server.mail import Mail

log = logging.getLogger(__name__)


class NullMailer:
    """Drops every mail (`FPMREG_SMTP_URL` is empty); in-app notifications still work."""

    def __init__(self) -> None:
        self.dropped = 0

    def send(self, mail: Mail) -> None:
        """Count and forget `mail`; the log names no recipient."""
        self.dropped += 1
        log.info("FPMREG_SMTP_URL is not set: a mail was dropped (%s)", mail.message_id)
