"""Pages that combine domains: search (with download counts, sorted by downloads) and
the package pages (with their download chart, maintainers and reverse dependencies)."""

from __future__ import annotations

import math
from typing import Literal

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from fpmreg.server.accounts.deps import CurrentUser
from fpmreg.server.advisories.pages import advisories_for_page
from fpmreg.server.communities.pages import vetting_for_page
from fpmreg.server.errors import NotFound
from fpmreg.server.http import StateDep, render
from fpmreg.server.linked.badges_api import badge_snippets, policy_snippets
from fpmreg.server.linked.codemeta import script_json, software_source_code
from fpmreg.server.metrics.deps import DownloadsDep
from fpmreg.server.metrics.pages import download_chart
from fpmreg.server.metrics.service import downloads_by_package
from fpmreg.server.moderation.expectations import expectations_context
from fpmreg.server.moderation.pages import moderation_actions
from fpmreg.server.moderation.permissions import Action, allowed
from fpmreg.server.moderation.roles import principals_for
from fpmreg.server.packages.deps import PackagesDep
from fpmreg.server.packages.readme import stored_readme_html
from fpmreg.server.packages.schemas import check_search, tarball_path
from fpmreg.server.packages.search import SEARCH_PAGE_SIZE, SearchFilters, count_listed
from fpmreg.server.packages.tombstones import Removed, tombstone_label, version_tombstones
from fpmreg.server.web.package_view import package_extras

router = APIRouter(include_in_schema=False)


def download_totals(session: Session, package_ids: list[int]) -> dict[int, int]:
    """All-time downloads of these packages (absent: none yet), in one query."""
    if not package_ids:
        return {}
    ranking = downloads_by_package()
    rows = session.execute(
        select(ranking.c.package_id, ranking.c.downloads).where(
            ranking.c.package_id.in_(package_ids)
        )
    )
    return {package_id: int(count) for package_id, count in rows}


@router.get("/search")
def search(
    request: Request,
    user: CurrentUser,
    packages: PackagesDep,
    q: str = "",
    page: int = 1,
    sort: Literal["relevance", "downloads"] = "relevance",
    namespace: str = "",
    keyword: str = "",
    category: str = "",
    license: str = "",
) -> Response:
    """Search with filters, download counts per result, and an empty state that says
    whether nothing matched or nothing is published (`docs/pages.md`, "Search")."""
    check_search(q, page)  # past the bounds: a 400 page that does not echo the query
    filters = SearchFilters(namespace, keyword, category, license)
    filters.check()
    rows, total = packages.search(
        q, page=page, sort=sort, downloads=downloads_by_package(), filters=filters
    )
    pages = max(1, math.ceil(total / SEARCH_PAGE_SIZE))
    listed = total if total else count_listed(packages.session)
    return render(
        request,
        "search.html",
        {
            "user": user,
            "q": q,
            "filters": filters,
            "active": filters.active(),
            "results": rows,
            "counts": download_totals(packages.session, [p.id for p in rows]),
            "total": total,
            "listed": listed,
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
    try:
        package = packages.get_package(namespace, name)
        principals = principals_for(packages.session, user, package.namespace_id, package.id)
        if package.quarantined_at is not None and not allowed(principals, Action.DEPRECATE):
            # Owners and moderators see it with a banner; for others it is not there.
            label = f"{package.namespace.name}/{package.name}"
            return render(request, "under_review.html", {"user": user, "label": label}, 404)
        versions = packages.versions(package)
        if not versions:
            raise NotFound("package-not-found", f"package `{namespace}/{name}` not found")
        if version is None:
            shown = next((v for v in versions if not v.yanked), versions[0])
        else:
            shown = packages.get_version(package, version)
    except Removed as gone:
        return render(
            request,
            "tombstone.html",
            {"user": user, "tombstone": gone.tombstone, "label": tombstone_label(gone.tombstone)},
            410,
        )
    publishers = packages.publishers(versions)
    # docs/communities.md, "Pages": each community's verdicts and audits
    vetting = vetting_for_page(packages.session, state, package, shown)
    verdicts = [v for section in vetting for v in section.verdicts]
    deleted = version_tombstones(packages.session, package.namespace.name, package.name)
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
            "installable": next((v for v in versions if not v.yanked), None),
            "downloads": download_chart(downloads, package, versions),
            "deleted": deleted,
            "may_deprecate": user is not None and allowed(principals, Action.DEPRECATE),
            "moderation": moderation_actions(request, user, packages, principals, package, shown),
            "advisories": advisories_for_page(packages.session, package, shown.version),
            "badges": badge_snippets(state.settings.base_url, package, shown)  # docs/badges.md
            + policy_snippets(state.settings.base_url, package, shown, verdicts),
            "vetting": vetting,
            # docs/linked-data.md, "Package pages"
            "jsonld": script_json(software_source_code(state.settings.base_url, package, shown)),
            **package_extras(packages.session, package, shown),
            **expectations_context(request, user, principals, package, packages.session),
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
