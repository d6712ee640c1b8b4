"""The tables of communities: the community, its members, and every version of every
document it published (docs/communities.md)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from fpmreg.server.db import Base


class Community(Base):
    """A packaging community hosted on this registry."""

    __tablename__ = "communities"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(63), unique=True)
    title: Mapped[str] = mapped_column(String(100))
    summary: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime]
    # How many distinct reviewers must accept an audit (docs/communities.md, "Vetting").
    reviews_needed: Mapped[int] = mapped_column(Integer, default=1, server_default="1")


class CommunityMember(Base):
    """A registry user's role in a community: founder, reviewer or member."""

    __tablename__ = "community_members"

    community_id: Mapped[int] = mapped_column(
        ForeignKey("communities.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    role: Mapped[str] = mapped_column(String(16))
    since: Mapped[datetime]


class CommunityDocument(Base):
    """One version of a criterion, guidance document or policy. Versions are never
    changed or removed: a change is a new version (docs/communities.md, "Documents")."""

    __tablename__ = "community_documents"
    __table_args__ = (UniqueConstraint("community_id", "kind", "slug", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))  # criteria, guidance, policies
    slug: Mapped[str] = mapped_column(String(63))
    version: Mapped[int] = mapped_column(Integer)
    body: Mapped[str] = mapped_column(Text)  # the JCS canonical JSON of the document
    sha256: Mapped[str] = mapped_column(String(64))
    published_at: Mapped[datetime]
    published_by: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )


class CommunityAudit(Base):
    """An audit submitted to a community, and what its reviewers decided
    (docs/communities.md, "Audits"). `status`: submitted, accepted, rejected or revoked;
    a revoked audit stays, as a tombstone."""

    __tablename__ = "community_audits"

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(
        ForeignKey("communities.id", ondelete="CASCADE"), index=True
    )
    auditor_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    package: Mapped[str] = mapped_column(String(128), index=True)  # `ns/name`, canonical
    body: Mapped[str] = mapped_column(Text)  # the JCS canonical JSON of the audit
    sha256: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="submitted")
    reason: Mapped[str] = mapped_column(Text, default="")  # a rejection's or revocation's
    decided_by: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    submitted_at: Mapped[datetime]
    decided_at: Mapped[datetime | None]


class CommunityVerdict(Base):
    """One signed verdict: a release evaluated against one version of a community's
    policy (docs/communities.md, "Verdicts"). Rows are only added: a new one is stored
    when the result or what it rests on changed, and the newest per (policy, release) is
    current; the older ones are the history."""

    __tablename__ = "community_verdicts"
    __table_args__ = (Index("ix_community_verdicts_current", "package", "version", "policy_slug"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(
        ForeignKey("communities.id", ondelete="CASCADE"), index=True
    )
    policy_id: Mapped[int] = mapped_column(
        ForeignKey("community_documents.id", ondelete="CASCADE")
    )  # the policy version evaluated
    policy_slug: Mapped[str] = mapped_column(String(63))
    package: Mapped[str] = mapped_column(String(128))  # `ns/name`, lower-case
    version: Mapped[str] = mapped_column(String(32))
    sha256: Mapped[str] = mapped_column(String(64))  # the release's tarball
    result: Mapped[str] = mapped_column(String(8))  # PASSED or FAILED
    # The audits it rests on, `[[uri, sha256], ...]` sorted: what "its inputs changed" compares.
    inputs: Mapped[list[list[str]]] = mapped_column(JSON, default=list)
    body: Mapped[str] = mapped_column(Text)  # the JCS canonical JSON of the statement
    body_sha256: Mapped[str] = mapped_column(String(64))
    verified_at: Mapped[datetime]


class AuditApproval(Base):
    """One reviewer's acceptance of a submitted audit, while the community's quorum of
    reviewers is not yet reached (docs/communities.md, "Vetting")."""

    __tablename__ = "community_audit_approvals"

    audit_id: Mapped[int] = mapped_column(
        ForeignKey("community_audits.id", ondelete="CASCADE"), primary_key=True
    )
    reviewer_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    approved_at: Mapped[datetime]
