"""Web pages of the packages domain: home, search, package, namespace and user pages."""

from __future__ import annotations

import math
from typing import Literal

from fastapi import APIRouter, Request
from fastapi.responses import Response

from fpmreg.core.catalogue import CATALOGUE
from fpmreg.server.errors import NotFound
from fpmreg.server.http import (
    AccountsDep,
    CurrentUser,
    DownloadsDep,
    PackagesDep,
    StateDep,
    render,
)
from fpmreg.server.metrics.pages import download_chart
from fpmreg.server.metrics.service import downloads_by_package
from fpmreg.server.packages.readme import stored_readme_html
from fpmreg.server.packages.schemas import tarball_path
from fpmreg.server.packages.service import SEARCH_PAGE_SIZE

router = APIRouter(include_in_schema=False)


@router.get("/")
def home(request: Request, user: CurrentUser, packages: PackagesDep) -> Response:
    recent, total = packages.search("", page=1)
    return render(request, "home.html", {"user": user, "recent": recent[:10], "total": total})


@router.get("/search")
def search(
    request: Request,
    user: CurrentUser,
    packages: PackagesDep,
    q: str = "",
    page: int = 1,
    sort: Literal["relevance", "downloads"] = "relevance",
) -> Response:
    rows, total = packages.search(q, page=page, sort=sort, downloads=downloads_by_package())
    pages = max(1, math.ceil(total / SEARCH_PAGE_SIZE))
    return render(
        request,
        "search.html",
        {
            "user": user,
            "q": q,
            "results": rows,
            "total": total,
            "page": page,
            "pages": pages,
            "sort": sort,
        },
    )


def _package_page(
    request: Request,
    user: CurrentUser,
    packages: PackagesDep,
    downloads: DownloadsDep,
    state: StateDep,
    namespace: str,
    name: str,
    version: str | None,
) -> Response:
    package = packages.get_package(namespace, name)
    versions = packages.versions(package)
    if not versions:
        raise NotFound("package-not-found", f"package `{namespace}/{name}` not found")
    if version is None:
        shown = next((v for v in versions if not v.yanked), versions[0])
    else:
        shown = packages.get_version(package, version)
    publishers = packages.publishers(versions)
    return render(
        request,
        "package.html",
        {
            "user": user,
            "package": package,
            "versions": versions,
            "shown": shown,
            "publishers": publishers,
            "readme": stored_readme_html(shown),
            "tarball": tarball_path(package.namespace.name, package.name, shown.version),
            "base_url": state.settings.base_url,
            "is_latest": shown.version == package.latest_version,
            "downloads": download_chart(downloads, package, versions),
        },
    )


@router.get("/project/{namespace}/{name}")
def package_page(
    request: Request,
    namespace: str,
    name: str,
    user: CurrentUser,
    packages: PackagesDep,
    downloads: DownloadsDep,
    state: StateDep,
) -> Response:
    return _package_page(request, user, packages, downloads, state, namespace, name, None)


@router.get("/project/{namespace}/{name}/{version}")
def version_page(
    request: Request,
    namespace: str,
    name: str,
    version: str,
    user: CurrentUser,
    packages: PackagesDep,
    downloads: DownloadsDep,
    state: StateDep,
) -> Response:
    return _package_page(request, user, packages, downloads, state, namespace, name, version)


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
