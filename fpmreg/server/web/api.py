"""`/api/v1` answers that combine domains: search by downloads, a namespace's packages."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query

from fpmreg.core.wire.accounts import Member, NamespaceInfo
from fpmreg.core.wire.packages import SearchResults
from fpmreg.server.accounts.deps import AccountsDep
from fpmreg.server.errors import InvalidInput
from fpmreg.server.metrics.service import downloads_by_package
from fpmreg.server.openapi import api_errors
from fpmreg.server.packages.deps import PackagesDep
from fpmreg.server.packages.schemas import (
    CURSOR_PATTERN,
    MAX_CURSOR_LENGTH,
    MAX_SEARCH_PAGE,
    NAMESPACE_DOC,
    QUERY_DOC,
    NamespacePath,
    api_package_summary,
    check_search,
)
from fpmreg.server.packages.search import MAX_FILTER_LENGTH, SEARCH_PAGE_SIZE, SearchFilters


def _list_filter_doc(field: str) -> Any:
    return Query(
        description=f"one of the newest listed version's {field}, whole, in any case; at "
        f"most {MAX_FILTER_LENGTH} characters",
        json_schema_extra={"maxLength": MAX_FILTER_LENGTH},
    )


KEYWORD_DOC = _list_filter_doc("keywords")
CATEGORY_DOC = _list_filter_doc("categories")
LICENSE_DOC = Query(
    description="the licence expression or one identifier in it (`MIT` finds "
    f"`MIT OR Apache-2.0`); at most {MAX_FILTER_LENGTH} characters",
    json_schema_extra={"maxLength": MAX_FILTER_LENGTH},
)

# The routes keep the tags of the domain whose resource they answer with.
router = APIRouter(prefix="/api/v1")


def _cursor(page: int) -> str:
    return base64.urlsafe_b64encode(str(page).encode()).decode()


def _cursor_page(cursor: str) -> int:
    if not cursor:
        return 1
    invalid = InvalidInput(
        "cursor-invalid",
        "the cursor is not one this API gave out: pass back a `next_cursor` unchanged",
        "cursor",
    )
    if len(cursor) > MAX_CURSOR_LENGTH:
        raise invalid
    try:
        text = base64.urlsafe_b64decode(cursor.encode("ascii")).decode("ascii")
    except (ValueError, binascii.Error) as exc:
        raise invalid from exc
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= MAX_SEARCH_PAGE:
        raise invalid
    return int(text)


CursorQuery = Annotated[
    str,
    Query(
        description="`next_cursor` of the previous page, unchanged",
        json_schema_extra={"maxLength": MAX_CURSOR_LENGTH, "pattern": CURSOR_PATTERN},
    ),
]


@router.get(
    "/packages",
    summary="Search packages",
    tags=["packages"],
    response_model=SearchResults,
    responses=api_errors(400, 422),
)
def search_packages(
    packages: PackagesDep,
    q: Annotated[str, QUERY_DOC] = "",
    namespace: Annotated[str, NAMESPACE_DOC] = "",
    keyword: Annotated[str, KEYWORD_DOC] = "",
    category: Annotated[str, CATEGORY_DOC] = "",
    license: Annotated[str, LICENSE_DOC] = "",
    cursor: CursorQuery = "",
    sort: Literal["relevance", "downloads"] = "relevance",
) -> SearchResults:
    """Packages whose name, namespace, description, keywords or categories contain `q`,
    20 at a time; `keyword`, `category` and `license` keep those of the newest listed
    version that have it (`docs/pages.md`, "Search"); `sort=downloads` puts the most
    downloaded (all time) first.

    Pass `next_cursor` back as `cursor` for the next page; it is absent on the last."""
    page = _cursor_page(cursor)
    check_search(q, page)
    filters = SearchFilters(namespace, keyword, category, license)
    filters.check()
    rows, total = packages.search(
        q, page=page, sort=sort, downloads=downloads_by_package(), filters=filters
    )
    more = page * SEARCH_PAGE_SIZE < total and page < MAX_SEARCH_PAGE
    return SearchResults(
        packages=[api_package_summary(p) for p in rows],
        total=total,
        next_cursor=_cursor(page + 1) if more else "",
    )


@router.get(
    "/namespaces/{namespace}",
    summary="A namespace, its members and packages",
    tags=["accounts"],
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
