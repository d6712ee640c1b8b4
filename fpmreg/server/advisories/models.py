"""Tables of the advisories domain: OSV records and the packages each one names."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from fpmreg.server.db import Base

# The longest OSV id seen in osv.dev's dumps is well under this (`GHSA-xxxx-xxxx-xxxx`).
MAX_ID_LENGTH = 128
# `namespace/name` here; other ecosystems' names (Maven `group:artifact`) can be long.
MAX_PACKAGE_LENGTH = 300


class Advisory(Base):
    """One OSV record, stored whole in `record`, with the columns queries need.

    `published_at` is None while the record is a draft (visible only to the package's
    namespace members and the security team). Imported records of other databases keep
    their own ids and ecosystems and have no `package_id`.
    """

    __tablename__ = "advisories"
    __table_args__ = (Index("ix_advisories_draft_modified", "draft", "modified_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    osv_id: Mapped[str] = mapped_column(String(MAX_ID_LENGTH), unique=True)
    # The first affected package: `namespace/name` for fpm records.
    ecosystem: Mapped[str] = mapped_column(String(64))
    package: Mapped[str] = mapped_column(String(MAX_PACKAGE_LENGTH), index=True)
    package_id: Mapped[int | None] = mapped_column(
        ForeignKey("packages.id", ondelete="SET NULL"), index=True
    )
    record: Mapped[dict[str, Any]] = mapped_column(JSON)
    summary: Mapped[str] = mapped_column(Text, default="")
    draft: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    published_at: Mapped[datetime | None]
    modified_at: Mapped[datetime] = mapped_column(index=True)
    withdrawn_at: Mapped[datetime | None]
    # "" for records written here; the file or zip member an imported record came from.
    imported_from: Mapped[str] = mapped_column(String(512), default="")

    packages: Mapped[list[AdvisoryPackage]] = relationship(
        back_populates="advisory", cascade="all, delete-orphan", lazy="raise"
    )


class AdvisoryPackage(Base):
    """One package an advisory's `affected` names (the index the OSV queries use)."""

    __tablename__ = "advisory_packages"
    __table_args__ = (Index("ix_advisory_packages_lookup", "ecosystem", "name"),)

    advisory_id: Mapped[int] = mapped_column(
        ForeignKey("advisories.id", ondelete="CASCADE"), primary_key=True
    )
    ecosystem: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(MAX_PACKAGE_LENGTH), primary_key=True)

    advisory: Mapped[Advisory] = relationship(back_populates="packages", lazy="raise")
