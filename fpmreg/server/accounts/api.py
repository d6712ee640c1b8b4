"""The `/api/v1` JSON endpoints of the accounts domain."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from fpmreg.server.errors import NotFound
from fpmreg.server.http import AccountsDep, PackagesDep
from fpmreg.server.packages.schemas import api_package_summary

router = APIRouter(prefix="/api/v1", tags=["accounts"])


@router.get("/namespaces/{namespace}", summary="A namespace, its members and packages")
def get_namespace(namespace: str, accounts: AccountsDep, packages: PackagesDep) -> dict[str, Any]:
    """Public facts only: no email addresses."""
    ns = accounts.get_namespace(namespace)
    return {
        "name": ns.name,
        "description": ns.description,
        "members": [{"username": m.user.username, "role": m.role} for m in accounts.members(ns)],
        "packages": [api_package_summary(p) for p in packages.packages_in(ns)],
    }


@router.get("/users/{username}", summary="A user's public profile")
def get_user(username: str, accounts: AccountsDep) -> dict[str, Any]:
    """Username and namespaces; never the email address."""
    user = accounts.user_by_name(username)
    if user is None:
        raise NotFound("user-not-found", f"there is no user `{username}`")
    return {
        "username": user.username,
        "namespaces": [
            {"name": m.namespace.name, "role": m.role} for m in accounts.namespaces_of(user)
        ],
    }
