"""Public facts about namespaces and users: never an email address."""

from __future__ import annotations

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
