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

    namespace: Mapped[Namespace] = relationship(lazy="joined")


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
