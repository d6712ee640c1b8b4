"""Web pages of the packages domain: home, namespace and user pages.

Search and the package pages show download counts too: `fpmreg.server.web.pages`.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from fpmreg.core.catalogue import CATALOGUE
from fpmreg.server.accounts.deps import AccountsDep, CurrentUser
from fpmreg.server.errors import NotFound
from fpmreg.server.http import render
from fpmreg.server.packages.deps import PackagesDep

router = APIRouter(include_in_schema=False)


@router.get("/")
def home(request: Request, user: CurrentUser, packages: PackagesDep) -> Response:
    recent, total = packages.search("", page=1)
    return render(request, "home.html", {"user": user, "recent": recent[:10], "total": total})


@router.get("/namespace/{name}")
def namespace_page(
    request: Request, name: str, user: CurrentUser, accounts: AccountsDep, packages: PackagesDep
) -> Response:
    namespace = accounts.get_namespace(name)
    members = accounts.members(namespace)
    role = accounts.role_of(user, namespace) if user else None
    return render(
        request,
        "namespace.html",
        {
            "user": user,
            "namespace": namespace,
            "members": members,
            "role": role,
            "packages": packages.packages_in(namespace),
        },
    )


@router.get("/user/{username}")
def user_page(
    request: Request, username: str, user: CurrentUser, accounts: AccountsDep, packages: PackagesDep
) -> Response:
    person = accounts.user_by_name(username)
    if person is None:
        raise NotFound("user-not-found", f"there is no user `{username}`")
    return render(
        request,
        "user.html",
        {
            "user": user,
            "person": person,
            "memberships": accounts.namespaces_of(person),
            "published": packages.published_by(person),
        },
    )


@router.get("/checks")
def checks_page(request: Request, user: CurrentUser) -> Response:
    """Every upload check, generated from `fpmreg.core.catalogue`."""
    return render(request, "checks.html", {"user": user, "checks": list(CATALOGUE.values())})
