"""The tables of audits that cross registries (docs/communities.md, "Audits from other
registries"): on the community's registry, which remote actor offered an audit; on the
auditor's registry, the Offers its users sent and the answers that came back."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from fpmreg.server.db import Base


class RemoteAudit(Base):
    """A community audit that arrived as an ActivityPub `Offer`: who offered it, and the
    inbox that hears the decision."""

    __tablename__ = "community_remote_audits"

    audit_id: Mapped[int] = mapped_column(
        ForeignKey("community_audits.id", ondelete="CASCADE"), primary_key=True
    )
    actor: Mapped[str] = mapped_column(String(512))  # the remote auditor's actor URI
    offer_id: Mapped[str] = mapped_column(String(512), unique=True)
    inbox: Mapped[str] = mapped_column(String(512))
    received_at: Mapped[datetime]


class AuditSubmission(Base):
    """An audit a user of this registry offered to a community on another registry, and
    its answer: `status` pending, accepted or rejected."""

    __tablename__ = "audit_submissions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True, index=True
    )
    community: Mapped[str] = mapped_column(String(512))  # the Group's actor URI
    offer_id: Mapped[str] = mapped_column(String(512), unique=True)
    body: Mapped[str] = mapped_column(Text)  # the audit document offered (JCS)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    reason: Mapped[str] = mapped_column(Text, default="")  # a rejection's
    result: Mapped[str] = mapped_column(String(512), default="")  # the accepted audit's URI
    created_at: Mapped[datetime]
    decided_at: Mapped[datetime | None]
