"""In-app notifications, mailed through the jobs table when SMTP is configured.

STUB for the `notices` helper: the signatures are the contract other modules use.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.orm import Session

from fpmreg.server.clock import Clock


class NotificationsService:
    """Tell users things, in the caller's transaction (the mail job commits with it)."""

    def __init__(self, session: Session, clock: Clock, *, mail: bool, base_url: str) -> None:
        self.session = session
        self.clock = clock
        self.mail = mail
        self.base_url = base_url

    def notify(
        self, user_ids: Iterable[int], *, kind: str, subject: str, message: str, url: str = ""
    ) -> None:
        """One notification per user (duplicates in `user_ids` once); one mail each when
        mail is on. `url` is a path on this registry (`/packages/ns/name`)."""
        raise NotImplementedError
