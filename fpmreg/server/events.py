"""The append-only audit log: every state change records who, when, what and why."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, Session, mapped_column

from fpmreg.server.db import Base


class Event(Base):
    """One audited action. Rows are only ever inserted."""

    __tablename__ = "events"

    id: Mapped[int] = mapped_column(primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(64), index=True)
    subject: Mapped[str] = mapped_column(String(256), index=True)
    reason: Mapped[str] = mapped_column(Text, default="")
    # Moderation category (malware, spam, ...) of moderation actions, for the public
    # transparency page; "" for everything else.
    category: Mapped[str] = mapped_column(String(32), default="", index=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


def record_event(
    session: Session,
    *,
    at: datetime,
    actor_id: int | None,
    action: str,
    subject: str,
    reason: str = "",
    category: str = "",
    data: dict[str, Any] | None = None,
) -> None:
    """Append an event to the audit log in the caller's transaction."""
    session.add(
        Event(
            occurred_at=at,
            actor_id=actor_id,
            action=action,
            subject=subject,
            reason=reason,
            category=category,
            data=data or {},
        )
    )
