"""The `/api/v1` JSON endpoints of the accounts domain."""

from __future__ import annotations

from fastapi import APIRouter

from fpmreg.core.wire.accounts import Member, Membership, NamespaceInfo, UserProfile
from fpmreg.server.errors import NotFound
from fpmreg.server.http import AccountsDep, PackagesDep
from fpmreg.server.openapi import api_errors
from fpmreg.server.packages.schemas import NamespacePath, api_package_summary

router = APIRouter(prefix="/api/v1", tags=["accounts"])


@router.get(
    "/namespaces/{namespace}",
    summary="A namespace, its members and packages",
    response_model=NamespaceInfo,
    responses=api_errors(404),
)
def get_namespace(
    namespace: NamespacePath, accounts: AccountsDep, packages: PackagesDep
) -> NamespaceInfo:
    """Public facts only: no email addresses."""
    ns = accounts.get_namespace(namespace)
    return NamespaceInfo(
        name=ns.name,
        description=ns.description,
        members=[Member(username=m.user.username, role=m.role) for m in accounts.members(ns)],
        packages=[api_package_summary(p) for p in packages.packages_in(ns)],
    )


@router.get(
    "/users/{username}",
    summary="A user's public profile",
    response_model=UserProfile,
    responses=api_errors(404),
)
def get_user(username: str, accounts: AccountsDep) -> UserProfile:
    """Username and namespaces; never the email address."""
    user = accounts.user_by_name(username)
    if user is None:
        raise NotFound("user-not-found", f"there is no user `{username}`")
    return UserProfile(
        username=user.username,
        namespaces=[
            Membership(name=m.namespace.name, role=m.role) for m in accounts.namespaces_of(user)
        ],
    )
