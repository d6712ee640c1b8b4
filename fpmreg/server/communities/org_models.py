"""The tables of organisations, their endorsements, and the trust statements members of a
community make about each other (docs/organisations.md)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from fpmreg.server.db import Base


class Organisation(Base):
    """An organisation: an actor that endorses communities, auditors and policies."""

    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(63), unique=True)
    title: Mapped[str] = mapped_column(String(100))
    summary: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime]


class OrganisationMember(Base):
    """A registry user's role in an organisation: admin or member."""

    __tablename__ = "organisation_members"

    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    role: Mapped[str] = mapped_column(String(16))
    since: Mapped[datetime]


class Endorsement(Base):
    """An organisation's signed endorsement of a community, an auditor or a policy. A
    revoked one stays, as a tombstone (docs/organisations.md, "Endorsements")."""

    __tablename__ = "organisation_endorsements"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(16))  # community, auditor, policy
    subject: Mapped[str] = mapped_column(String(512), index=True)
    body: Mapped[str] = mapped_column(Text)  # the JCS canonical JSON of the endorsement
    sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    created_by: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    revoked_at: Mapped[datetime | None]
    revoke_reason: Mapped[str] = mapped_column(Text, default="")


class TrustRow(Base):
    """One trust statement, in a community, by a member about an actor. Rows are only
    added: of several about one pair (and scope), the last one counts."""

    __tablename__ = "community_trust"

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(
        ForeignKey("communities.id", ondelete="CASCADE"), index=True
    )
    truster_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    truster: Mapped[str] = mapped_column(String(512))  # the truster's actor URI
    trustee: Mapped[str] = mapped_column(String(512), index=True)  # an actor URI
    level: Mapped[str] = mapped_column(String(16))
    scope: Mapped[str] = mapped_column(String(512), default="")  # "": everywhere
    reason: Mapped[str] = mapped_column(Text, default="")
    body: Mapped[str] = mapped_column(Text)  # the JCS canonical JSON of the statement
    sha256: Mapped[str] = mapped_column(String(64))
    stated_at: Mapped[datetime]
