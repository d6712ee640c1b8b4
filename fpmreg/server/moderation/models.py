"""Tables of the moderation domain: reports and in-app notifications."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from urllib.parse import urlsplit

from sqlalchemy import ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from fpmreg.server.db import Base


class ReportCategory(StrEnum):
    """Why a package is reported (docs/registry-rules.md, "Reports")."""

    MALWARE = "malware"
    TYPOSQUATTING = "typosquatting"  # or impersonation
    COPYRIGHT = "copyright"  # or licence violation
    SPAM = "spam"
    BROKEN = "broken"
    SECURITY = "security"  # a security vulnerability
    OTHER = "other"


class ReportStatus(StrEnum):
    """Where a report is in the queue."""

    OPEN = "open"
    CLAIMED = "claimed"  # a moderator is on it
    DECIDED = "decided"


class Decision(StrEnum):
    """What a moderator decided about a report."""

    DISMISS = "dismiss"
    YANK = "yank"
    QUARANTINE = "quarantine"
    DELETE = "delete"
    ADVISORY = "advisory"  # open an advisory draft (the advisories domain)


class Report(Base):
    """A signed-in user's report of a package or one version.

    The subject is kept as text (`namespace/name` or `namespace/name@version`) so the
    report outlives a hard delete of what it reported; `package_id` links it while the
    package exists. One reporter has at most one open report per subject.
    """

    __tablename__ = "reports"
    __table_args__ = (
        Index(
            "uq_reports_open_per_reporter",
            "reporter_id",
            "subject",
            unique=True,
            sqlite_where=text("status != 'decided'"),
            postgresql_where=text("status != 'decided'"),
        ),
        Index("ix_reports_status_created", "status", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reporter_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    package_id: Mapped[int | None] = mapped_column(
        ForeignKey("packages.id", ondelete="SET NULL"), index=True
    )
    subject: Mapped[str] = mapped_column(String(200))  # `ns/name` or `ns/name@version`
    version: Mapped[str] = mapped_column(String(32), default="")
    category: Mapped[str] = mapped_column(String(32), index=True)
    message: Mapped[str] = mapped_column(Text)
    trusted: Mapped[bool] = mapped_column(default=False)  # filed by a trusted reporter
    status: Mapped[str] = mapped_column(String(16), default=ReportStatus.OPEN)
    created_at: Mapped[datetime]
    claimed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    claimed_at: Mapped[datetime | None]
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime | None]
    decision: Mapped[str] = mapped_column(String(16), default="")
    decision_reason: Mapped[str] = mapped_column(Text, default="")
    # A report that came from another server as an ActivityPub `Flag` (docs/activitypub.md,
    # "Federated reports"): nobody here reported it, `remote_actor` did.
    remote_actor: Mapped[str] = mapped_column(String(512), default="")
    remote_flag_id: Mapped[str] = mapped_column(String(512), default="")

    @property
    def remote_host(self) -> str:
        """The host (and port) of the remote reporter; "" for a local report."""
        return urlsplit(self.remote_actor).netloc if self.remote_actor else ""


class Notification(Base):
    """A message to one user, shown on their notifications page (and mailed)."""

    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_user_unread", "user_id", "read_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    created_at: Mapped[datetime]
    kind: Mapped[str] = mapped_column(String(32))  # e.g. `report.decided`
    subject: Mapped[str] = mapped_column(String(200), default="")
    message: Mapped[str] = mapped_column(Text)
    url: Mapped[str] = mapped_column(String(512), default="")  # a path on this registry
    read_at: Mapped[datetime | None]
