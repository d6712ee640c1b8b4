"""Outgoing mail: the `Mailer` interface, the `mail.send` job, and the choice of mailer.

One module per implementation: `smtp.py` (a real SMTP server, from `FPMREG_SMTP_URL`)
and `null.py` (no SMTP configured: mail is dropped). Mail always leaves through the
`mail.send` job, so whoever asks for one only calls
`jobs.enqueue(session, "mail.send", {"to", "subject", "body"}, at=clock.now())` in their
own transaction: a rolled-back request sends nothing, a failed send is retried.
Recipients' addresses and the SMTP password never reach a log or `jobs.last_error`.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Protocol

from fpmreg.server.jobs import JobContext, PermanentJobError

log = logging.getLogger(__name__)

SEND_MAIL = "mail.send"
# RFC 5321's limit on a whole address (path); anything longer no server accepts.
MAX_ADDRESS_CHARS = 254
# RFC 5322 recommends header lines under 78 characters; a subject is a line, not a text.
MAX_SUBJECT_CHARS = 200
# A notification is a few paragraphs; this bounds what a bug could queue.
MAX_BODY_CHARS = 100_000
_ADDRESS = re.compile(r"^[^@\s<>,;\"]+@[^@\s<>,;\"]+\.[^@\s<>,;\"]+$")


@dataclass(frozen=True)
class Mail:
    """One plain-text mail to one recipient."""

    to: str
    subject: str
    body: str
    message_id: str  # one per job: a mail sent twice after a crash is recognisably one


class Mailer(Protocol):
    """Something that hands a mail to a mail server (or decides not to)."""

    def send(self, mail: Mail) -> None:
        """Send `mail`; raise `jobs.RetryableJobError` or `PermanentJobError` if not."""
        ...


def build_mailer(smtp_url: str, mail_from: str) -> Mailer:
    """The SMTP mailer for `smtp_url`, or the null mailer when it is empty."""
    if not smtp_url:
        from fpmreg.server.mail.null import NullMailer

        return NullMailer()
    from fpmreg.server.mail.smtp import SmtpMailer

    return SmtpMailer.from_url(smtp_url, mail_from)


def mail_from_payload(context: JobContext, domain: str) -> Mail:
    """The mail a `mail.send` job's payload describes; a malformed one can never be
    sent, so it fails the job at once."""
    payload = context.payload
    to, subject, body = (payload.get(key) for key in ("to", "subject", "body"))
    if not isinstance(to, str) or len(to) > MAX_ADDRESS_CHARS or not _ADDRESS.match(to):
        raise PermanentJobError("`to` is not a single mail address")
    if not isinstance(subject, str) or not isinstance(body, str):
        raise PermanentJobError("`subject` and `body` must be strings")
    if len(body) > MAX_BODY_CHARS:
        raise PermanentJobError(f"`body` is longer than {MAX_BODY_CHARS} characters")
    # A line break in a header would start a new header: the subject is one line.
    subject = " ".join(subject.split())[:MAX_SUBJECT_CHARS]
    return Mail(to, subject, body, f"<fpmreg-job-{context.job_id}@{domain}>")


class SendMail:
    """The `mail.send` job's handler: one plain-text mail through `mailer`."""

    def __init__(self, mailer: Mailer, domain: str) -> None:
        self.mailer = mailer
        self.domain = domain

    def __call__(self, context: JobContext) -> None:
        """Send the job's mail (raises to have the runner retry or give up)."""
        self.mailer.send(mail_from_payload(context, self.domain))
        log.info("mail of job %d handed over", context.job_id)
