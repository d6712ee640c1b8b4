"""In-app notifications, mailed through the jobs table when SMTP is configured.

`notify` is what the other moderation services call: one `Notification` row per user
and, when `FPMREG_SMTP_URL` is set, one `mail.send` job per user with an address, in the
caller's transaction (`fpmreg.server.mail`): a rolled-back request tells no one, and a
mail whose send fails is retried by the worker with back-off.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, object_session

from fpmreg.server.accounts.models import User
from fpmreg.server.clock import Clock
from fpmreg.server.errors import NotFound
from fpmreg.server.jobs import enqueue
from fpmreg.server.mail import MAX_SUBJECT_CHARS, SEND_MAIL
from fpmreg.server.moderation.cursor import (
    DEFAULT_PAGE_SIZE,
    check_limit,
    decode_cursor,
    encode_cursor,
)
from fpmreg.server.moderation.models import Notification

# The widths of `notifications.kind`, `.subject` and `.url`.
MAX_KIND_CHARS = 32
MAX_NOTIFICATION_SUBJECT_CHARS = 200
MAX_URL_CHARS = 512


@dataclass(frozen=True)
class NotificationPage:
    """One page of a user's notifications, newest first; `next_cursor` "" on the last."""

    items: list[Notification]
    unread: int
    next_cursor: str


def mail_body(message: str, url: str, base_url: str) -> str:
    """The plain-text body of a notification mail: the message, then the absolute link.

    Only what the recipient's own notification says: never another user's details."""
    lines = [message.strip(), ""]
    if url:
        lines += [f"{base_url.rstrip('/')}{url}", ""]
    lines += [
        "You get this mail because you have an account on this registry; every "
        f"notification is also listed at {base_url.rstrip('/')}/notifications.",
    ]
    return "\n".join(lines) + "\n"


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
        if url and not url.startswith("/"):
            raise ValueError("a notification's url is a path on this registry: `/...`")
        ids = sorted({int(i) for i in user_ids})
        if not ids:
            return
        now = self.clock.now()
        subject = " ".join(subject.split())[:MAX_NOTIFICATION_SUBJECT_CHARS]
        users = self.session.scalars(select(User).where(User.id.in_(ids))).all()
        for user in users:
            self.session.add(
                Notification(
                    user_id=user.id,
                    created_at=now,
                    kind=kind[:MAX_KIND_CHARS],
                    subject=subject,
                    message=message,
                    url=url[:MAX_URL_CHARS],
                    read_at=None,
                )
            )
            if self.mail and user.email:
                self._enqueue_mail(user.email, subject, message, url, now)
        self.session.flush()

    def _enqueue_mail(self, to: str, subject: str, message: str, url: str, now: datetime) -> None:
        payload = {
            "to": to,
            "subject": f"[fpmreg] {subject}"[:MAX_SUBJECT_CHARS],
            "body": mail_body(message, url, self.base_url),
        }
        enqueue(self.session, SEND_MAIL, payload, at=now)

    # Reading -----------------------------------------------------------------------

    def unread_count(self, user: User) -> int:
        """How many of `user`'s notifications are unread (one COUNT)."""
        return unread_count(self.session, user.id)

    def list_for(
        self, user: User, *, cursor: str = "", limit: int = DEFAULT_PAGE_SIZE
    ) -> NotificationPage:
        """`user`'s notifications, newest first, one page of them."""
        before = decode_cursor(cursor)
        check_limit(limit)
        query = select(Notification).where(Notification.user_id == user.id)
        if before is not None:
            query = query.where(Notification.id < before)
        items = list(self.session.scalars(query.order_by(Notification.id.desc()).limit(limit + 1)))
        more = len(items) > limit
        items = items[:limit]
        next_cursor = encode_cursor(items[-1].id) if more else ""
        return NotificationPage(items, self.unread_count(user), next_cursor)

    # Marking read --------------------------------------------------------------------

    def mark_read(self, user: User, notification_id: int) -> bool:
        """Mark one of `user`'s notifications read; False when it already was."""
        found = self.session.get(Notification, notification_id)
        if found is None or found.user_id != user.id:
            raise NotFound(
                "notification-not-found",
                f"you have no notification {notification_id}: see `/notifications`",
                "ids",
            )
        if found.read_at is not None:
            return False
        found.read_at = self.clock.now()
        self.session.flush()
        return True

    def mark_all_read(self, user: User) -> int:
        """Mark every unread notification of `user` read; returns how many were."""
        result = self.session.execute(
            update(Notification)
            .where(Notification.user_id == user.id, Notification.read_at.is_(None))
            .values(read_at=self.clock.now())
        )
        return int(result.rowcount)  # type: ignore[attr-defined]


def unread_count(session: Session, user_id: int) -> int:
    """How many unread notifications `user_id` has."""
    return (
        session.scalar(
            select(func.count(Notification.id)).where(
                Notification.user_id == user_id, Notification.read_at.is_(None)
            )
        )
        or 0
    )


def unread_for_header(user: User | None) -> int:
    """The page header's unread count (a Jinja global): one COUNT on the session the
    page's `user` was loaded in, the request's own; 0 for visitors."""
    if user is None:
        return 0
    session = object_session(user)
    return unread_count(session, user.id) if session is not None else 0
