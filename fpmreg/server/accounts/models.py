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
    # `email.strip().lower()`: one account per address (sign-up and change refuse a taken one).
    email_canonical: Mapped[str] = mapped_column(String(254), unique=True)
    # Set when the owner followed the signed link mailed to `email`; unverified accounts
    # cannot publish. A change of address clears it.
    email_verified_at: Mapped[datetime | None]
    password_hash: Mapped[str] = mapped_column(String(256))
    password_changed_at: Mapped[datetime | None]
    is_admin: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime]
    last_login_at: Mapped[datetime | None]
    # Two-factor sign-in (TOTP, RFC 6238): the base32 secret while enrolling or enrolled,
    # when enrolment was confirmed, and the last time step accepted (a code is never
    # accepted twice).
    totp_secret: Mapped[str] = mapped_column(String(64), default="")
    totp_enabled_at: Mapped[datetime | None]
    totp_last_step: Mapped[int] = mapped_column(default=0)
    # A deleted account is kept as a tombstone: its name can never be registered again
    # (impersonation), its email, password and second factor are wiped.
    deleted_at: Mapped[datetime | None]


class WebSession(Base):
    """A signed-in browser. Only the hash of the cookie value is stored."""

    __tablename__ = "web_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    last_seen_at: Mapped[datetime | None]
    # A coarse label of the browser (`Firefox on Linux`) for the sessions list; never
    # the client's address.
    user_agent: Mapped[str] = mapped_column(String(120), default="")

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
    # Members must have two-factor sign-in before they publish from the web or create tokens.
    require_2fa: Mapped[bool] = mapped_column(default=False)
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


class RecoveryCode(Base):
    """One of a user's single-use two-factor recovery codes. Only the hash is stored."""

    __tablename__ = "recovery_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
