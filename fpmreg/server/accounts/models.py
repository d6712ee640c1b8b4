"""Tables of the accounts domain."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from fpmreg.server.db import Base


class Role(StrEnum):
    """A user's role in a namespace: admins also manage members and tokens of others."""

    ADMIN = "admin"
    MAINTAINER = "maintainer"


class Scope(StrEnum):
    """What an API token may do."""

    PUBLISH = "publish"  # upload new versions (and create packages, if namespace-scoped)
    YANK = "yank"  # yank and unyank versions
    MANAGE = "manage"  # manage the namespace: members, package settings


class SiteRole(StrEnum):
    """A registry-wide role, granted by operators (`fpmreg-server admin grant`) or admins.

    Site admins are `User.is_admin`; these are the other roles (docs/registry-rules.md).
    """

    MODERATOR = "moderator"  # works the report queue; yanks, quarantines, deletes
    TRUSTED_REPORTER = "trusted-reporter"  # reports weigh more (automatic quarantine)
    SECURITY = "security"  # the security team: drafts and publishes advisories


class User(Base):
    """A person with an account."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64))
    canonical: Mapped[str] = mapped_column(String(64), unique=True)
    # `confusable_name(username)`: a new name whose skeleton is taken is refused.
    confusable: Mapped[str] = mapped_column(String(64), index=True, default="")
    email: Mapped[str] = mapped_column(String(254))
    password_hash: Mapped[str] = mapped_column(String(256))
    is_admin: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime]
    last_login_at: Mapped[datetime | None]


class WebSession(Base):
    """A signed-in browser. Only the hash of the cookie value is stored."""

    __tablename__ = "web_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]

    user: Mapped[User] = relationship(lazy="joined")


class Namespace(Base):
    """A group of packages owned by its members, as in `namespace = "…"` in fpm.toml."""

    __tablename__ = "namespaces"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    canonical: Mapped[str] = mapped_column(String(64), unique=True)
    # `confusable_name(name)`: a new namespace whose skeleton is taken is refused.
    confusable: Mapped[str] = mapped_column(String(64), index=True, default="")
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class Membership(Base):
    """A user's role in a namespace."""

    __tablename__ = "memberships"

    namespace_id: Mapped[int] = mapped_column(
        ForeignKey("namespaces.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    role: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime]

    user: Mapped[User] = relationship(lazy="joined")
    namespace: Mapped[Namespace] = relationship(lazy="joined")


class ApiToken(Base):
    """An API token. The secret is shown once; only its SHA-256 is stored."""

    __tablename__ = "api_tokens"
    __table_args__ = (UniqueConstraint("user_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    prefix: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[str] = mapped_column(String(64))
    namespace_id: Mapped[int] = mapped_column(ForeignKey("namespaces.id", ondelete="CASCADE"))
    package_name: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    user: Mapped[User] = relationship(lazy="joined")
    namespace: Mapped[Namespace] = relationship(lazy="joined")

    @property
    def scope_set(self) -> set[Scope]:
        """The token's scopes."""
        return {Scope(s) for s in self.scopes.split(",") if s}


class UserRole(Base):
    """One site role held by one user."""

    __tablename__ = "user_roles"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    role: Mapped[str] = mapped_column(String(32), primary_key=True)
    granted_at: Mapped[datetime]
    granted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
