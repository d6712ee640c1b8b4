"""Public facts about namespaces and users: never an email address."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from fpmreg.core.wire import WireModel
from fpmreg.core.wire.packages import PackageSummary


class Member(WireModel):
    """A member of a namespace and their role there."""

    username: str
    role: str


class NamespaceInfo(WireModel):
    """A namespace, its members and its packages."""

    name: str
    description: str
    members: list[Member]
    packages: list[PackageSummary]


class Membership(WireModel):
    """A namespace a user belongs to, and their role there."""

    name: str
    role: str


class UserProfile(WireModel):
    """A user's public profile."""

    username: str
    namespaces: list[Membership]


# Tokens over the API (`/api/v1/whoami`, `/api/v1/tokens`; docs/accounts-tokens.md) ----


class TokenInfo(WireModel):
    """One API token as its owner sees it: never the secret, only its first characters."""

    id: int
    name: str
    prefix: str
    scopes: list[str]
    namespace: str
    package: str  # "" = any package of the namespace
    created_at: datetime
    expires_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class Whoami(WireModel):
    """Who a credential is and what it may do (`GET /api/v1/whoami`)."""

    username: str
    via: Literal["token", "session"]
    token: TokenInfo | None  # None when the caller is a signed-in browser


class TokenCreate(WireModel):
    """`POST /api/v1/tokens`: a new token for the caller."""

    name: str = Field(max_length=200)
    scopes: list[str] = Field(max_length=10)
    namespace: str = Field(max_length=200)
    package: str = Field(default="", max_length=200)
    days: int = Field(default=90, ge=-(2**31), le=2**31)


class TokenCreated(WireModel):
    """The new token; `secret` is shown this once and never again."""

    token: TokenInfo
    secret: str


class TokenList(WireModel):
    """The caller's tokens, newest first (revoked and expired ones included)."""

    tokens: list[TokenInfo]


class MemberSet(WireModel):
    """`PUT /api/v1/namespaces/{namespace}/members/{username}`: the member's role."""

    role: Literal["admin", "maintainer"]


class PackageMaintainer(WireModel):
    """A user who maintains one package without being a member of its namespace."""

    username: str
    added_at: datetime


class MaintainerList(WireModel):
    """The maintainers of one package (namespace members are listed on the namespace)."""

    namespace: str
    name: str
    maintainers: list[PackageMaintainer]


class TransferCreate(WireModel):
    """`POST /api/v1/packages/{namespace}/{name}/transfers`: where the package should go."""

    to_namespace: str = Field(max_length=200)


class TransferInfo(WireModel):
    """A request to move a package to another namespace, and how far it got."""

    id: int
    package: str  # `namespace/name` where it is now
    from_namespace: str
    to_namespace: str
    requested_by: str
    created_at: datetime
    state: Literal["pending", "completed", "cancelled"]
