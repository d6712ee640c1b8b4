"""Tables of the packages domain."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from fpmreg.server.accounts.models import Namespace, User
from fpmreg.server.db import Base


class Package(Base):
    """A package in a namespace. Its metadata mirrors its newest published version."""

    __tablename__ = "packages"
    __table_args__ = (UniqueConstraint("namespace_id", "canonical"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    namespace_id: Mapped[int] = mapped_column(ForeignKey("namespaces.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(64), index=True)
    canonical: Mapped[str] = mapped_column(String(64), index=True)
    confusable: Mapped[str] = mapped_column(String(64), index=True)
    description: Mapped[str] = mapped_column(Text, default="")
    license: Mapped[str] = mapped_column(String(256), default="")
    homepage: Mapped[str] = mapped_column(String(512), default="")
    latest_version: Mapped[str] = mapped_column(String(32), default="")
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    # Deprecation by the owners: a message, and optionally the package to use instead
    # (`namespace/name`). Set by the moderation domain; served everywhere.
    deprecated_at: Mapped[datetime | None]
    deprecation_message: Mapped[str] = mapped_column(Text, default="")
    replacement: Mapped[str] = mapped_column(String(130), default="")
    # Quarantine: not installable, not listed, owners frozen until a moderator decides.
    quarantined_at: Mapped[datetime | None]

    namespace: Mapped[Namespace] = relationship(lazy="joined")


class PackageExpectations(Base):
    """What a package's owners declare about its maintenance and security reports
    (docs/expectations.md). One row per package that declared them."""

    __tablename__ = "package_expectations"

    package_id: Mapped[int] = mapped_column(
        ForeignKey("packages.id", ondelete="CASCADE"), primary_key=True
    )
    status: Mapped[str] = mapped_column(String(32))
    response: Mapped[str] = mapped_column(String(16))
    contact: Mapped[str] = mapped_column(String(254), default="")
    supported: Mapped[str] = mapped_column(String(100), default="")
    note: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime]


class Version(Base):
    """One immutable published version of a package and its tarball's digest."""

    __tablename__ = "versions"
    __table_args__ = (
        UniqueConstraint("package_id", "version"),
        Index("ix_versions_order", "package_id", "major", "minor", "patch"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    package_id: Mapped[int] = mapped_column(ForeignKey("packages.id", ondelete="CASCADE"))
    version: Mapped[str] = mapped_column(String(32))
    major: Mapped[int] = mapped_column(BigInteger)
    minor: Mapped[int] = mapped_column(BigInteger)
    patch: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size: Mapped[int] = mapped_column(BigInteger)
    license: Mapped[str] = mapped_column(String(256))
    description: Mapped[str] = mapped_column(Text, default="")
    author: Mapped[str] = mapped_column(Text, default="")
    maintainer: Mapped[str] = mapped_column(Text, default="")
    homepage: Mapped[str] = mapped_column(String(512), default="")
    keywords: Mapped[list[str]] = mapped_column(JSON, default=list)
    categories: Mapped[list[str]] = mapped_column(JSON, default=list)
    dependencies: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    manifest: Mapped[str] = mapped_column(Text)
    readme: Mapped[str] = mapped_column(Text, default="")
    readme_name: Mapped[str] = mapped_column(String(64), default="")
    # The README rendered once at publish (bounded in time and size), shown as is.
    readme_html: Mapped[str] = mapped_column(Text, default="")
    published_at: Mapped[datetime]
    publisher_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    yanked: Mapped[bool] = mapped_column(default=False)
    yank_reason: Mapped[str] = mapped_column(Text, default="")

    package: Mapped[Package] = relationship(lazy="raise")
    publisher: Mapped[User | None] = relationship(lazy="raise")

    @property
    def order_key(self) -> tuple[int, int, int]:
        """fpm's ordering of versions."""
        return (self.major, self.minor, self.patch)


class ModulePrefix(Base):
    """A custom module prefix and the package that first claimed it (fpm naming docs)."""

    __tablename__ = "module_prefixes"

    id: Mapped[int] = mapped_column(primary_key=True)
    prefix: Mapped[str] = mapped_column(String(64), unique=True)  # lowercase
    package_id: Mapped[int] = mapped_column(
        ForeignKey("packages.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime]


class Tombstone(Base):
    """What is left of a deleted version (or, with `version == ""`, a whole package).

    `namespace/name@version` can never be published again; a deleted package's name is
    held until `name_held_until` (docs/registry-rules.md, "Yank, deprecate, quarantine,
    delete"). Only public facts are kept: the category, never the reporter or details.
    """

    __tablename__ = "tombstones"
    __table_args__ = (UniqueConstraint("namespace_canonical", "package_canonical", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    namespace_canonical: Mapped[str] = mapped_column(String(64))
    package_canonical: Mapped[str] = mapped_column(String(64))
    namespace: Mapped[str] = mapped_column(String(64))  # spelling at deletion
    name: Mapped[str] = mapped_column(String(64))
    version: Mapped[str] = mapped_column(String(32), default="")  # "" = the whole package
    sha256: Mapped[str] = mapped_column(String(64), default="")
    category: Mapped[str] = mapped_column(String(32))
    deleted_at: Mapped[datetime]
    name_held_until: Mapped[datetime | None]


class PackageMaintainer(Base):
    """A user who maintains one package without being a member of its namespace."""

    __tablename__ = "package_maintainers"

    package_id: Mapped[int] = mapped_column(
        ForeignKey("packages.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    created_at: Mapped[datetime]
    added_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    user: Mapped[User] = relationship(lazy="joined", foreign_keys=[user_id])


class PackageTransfer(Base):
    """A request to move a package to another namespace; it needs both admins' consent."""

    __tablename__ = "package_transfers"

    id: Mapped[int] = mapped_column(primary_key=True)
    package_id: Mapped[int] = mapped_column(
        ForeignKey("packages.id", ondelete="CASCADE"), index=True
    )
    to_namespace_id: Mapped[int] = mapped_column(ForeignKey("namespaces.id", ondelete="CASCADE"))
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime]
    source_approved_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    target_approved_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    completed_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]
