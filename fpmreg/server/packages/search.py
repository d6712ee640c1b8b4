"""Finding packages: search with filters, and the packages that use a package.

Free text matches names, namespaces, descriptions, keywords and categories; the filters
narrow by namespace, keyword, category and licence (`docs/pages.md`, "Search"). Keywords
and categories are those of each package's newest listed version (`Package.latest_version`),
the version its page shows first.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from typing import Any, Literal

from sqlalchemy import ColumnElement, Select, String, Subquery, cast, func, literal, or_, select
from sqlalchemy.orm import Session

from fpmreg.core.names import canonical_name
from fpmreg.server.accounts.models import Namespace
from fpmreg.server.errors import InvalidInput
from fpmreg.server.packages.models import Package, Version

SEARCH_PAGE_SIZE = 20
MAX_QUERY_LENGTH = 100
# A filter names one namespace, keyword, category or licence: as long as a query at most.
MAX_FILTER_LENGTH = MAX_QUERY_LENGTH
# "Used by" lists at most this many packages on a page; the count says how many in all.
MAX_USED_BY = 50

Sort = Literal["relevance", "downloads"]


@dataclass(frozen=True, slots=True)
class SearchFilters:
    """What narrows a search; an empty field does not filter."""

    namespace: str = ""
    keyword: str = ""
    category: str = ""
    license: str = ""

    def active(self) -> dict[str, str]:
        """The filters in use, by name (for the page to show and link to)."""
        return {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name)}

    def check(self) -> None:
        """Refuse (400) a filter longer than any stored value can be."""
        for name, value in self.active().items():
            if len(value) > MAX_FILTER_LENGTH:
                raise InvalidInput(
                    "filter-too-long",
                    f"the `{name}` filter is {len(value)} characters long; at most "
                    f"{MAX_FILTER_LENGTH} are used: shorten it",
                    name,
                )


def _json_lower(column: Any) -> ColumnElement[str]:
    """A JSON list column as lowercase text, as both SQLite and PostgreSQL store it."""
    return func.lower(cast(column, String))


def _in_json_list(column: Any, item: str) -> ColumnElement[bool]:
    """Whether a JSON list of strings holds `item` (case-insensitively for ASCII): the
    stored text is `json.dumps`'s, so the quoted item is a substring exactly then."""
    return _json_lower(column).contains(json.dumps(item.strip().lower()), autoescape=True)


def _has_license(expression: str) -> ColumnElement[bool]:
    """The licence expression is `expression`, or names it as one of its parts: `MIT`
    finds `MIT OR Apache-2.0` and `(MIT OR Apache-2.0)`, never `MIT-0`."""
    wanted = expression.strip().lower()
    spaced = func.replace(func.replace(func.lower(Package.license), "(", " "), ")", " ")
    padded = literal(" ") + spaced + literal(" ")
    return or_(
        func.lower(Package.license) == wanted,
        padded.contains(f" {wanted} ", autoescape=True),
    )


def _text_match(query: str) -> ColumnElement[bool]:
    return or_(
        Package.name.icontains(query, autoescape=True),
        Package.description.icontains(query, autoescape=True),
        Namespace.name.icontains(query, autoescape=True),
        _json_lower(Version.keywords).contains(query.lower(), autoescape=True),
        _json_lower(Version.categories).contains(query.lower(), autoescape=True),
    )


def listed_packages() -> Select[Package]:
    """Packages that show in search: some version left, not quarantined, each joined to
    its namespace and (outer: it may have been deleted since) its newest listed version."""
    return (
        select(Package)
        .join(Package.namespace)
        .outerjoin(
            Version,
            (Version.package_id == Package.id) & (Version.version == Package.latest_version),
        )
        .where(Package.latest_version != "", Package.quarantined_at.is_(None))
    )


def search_packages(
    session: Session,
    query: str,
    filters: SearchFilters,
    *,
    page: int = 1,
    sort: Sort = "relevance",
    downloads: Subquery | None = None,
) -> tuple[list[Package], int]:
    """One page of packages matching `query` and `filters`, and how many match in all.

    Best matches first (an exact name, then the most recently updated), or the most
    downloaded first with `sort="downloads"` and `downloads`, a `(package_id,
    downloads)` subquery from the metrics domain."""
    query = query.strip()[:MAX_QUERY_LENGTH]
    if any("\x00" in text for text in (query, *filters.active().values())):
        # No stored name or text holds a NUL (PostgreSQL text cannot), so nothing
        # matches; asking the database would be refused by PostgreSQL.
        return [], 0
    stmt = listed_packages()
    if query:
        stmt = stmt.where(_text_match(query))
    if filters.namespace:
        stmt = stmt.where(Namespace.canonical == canonical_name(filters.namespace))
    if filters.keyword:
        stmt = stmt.where(_in_json_list(Version.keywords, filters.keyword))
    if filters.category:
        stmt = stmt.where(_in_json_list(Version.categories, filters.category))
    if filters.license:
        stmt = stmt.where(_has_license(filters.license))
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    exact = func.lower(Package.name) == query.lower()
    if sort == "downloads" and downloads is not None:
        stmt = stmt.outerjoin(downloads, downloads.c.package_id == Package.id)
        stmt = stmt.order_by(func.coalesce(downloads.c.downloads, 0).desc())
    rows = session.scalars(
        stmt.order_by(exact.desc(), Package.updated_at.desc(), Package.id.desc())
        .offset((max(page, 1) - 1) * SEARCH_PAGE_SIZE)
        .limit(SEARCH_PAGE_SIZE)
    ).all()
    return list(rows), total


def count_listed(session: Session) -> int:
    """How many packages search can find at all (0: the registry is empty)."""
    return session.scalar(select(func.count()).select_from(listed_packages().subquery())) or 0


def _depends_on(deps: list[dict[str, Any]], namespace: str, name: str) -> bool:
    return any(
        dep.get("kind") == "registry"
        and dep.get("scope") != "dev-dependencies"
        and canonical_name(str(dep.get("name", ""))) == name
        and canonical_name(str(dep.get("namespace", ""))) == namespace
        for dep in deps
    )


def used_by(session: Session, package: Package) -> tuple[list[Package], int]:
    """Listed packages whose newest version depends on `package` (dev-dependencies do not
    count), by namespace and name: at most `MAX_USED_BY`, and how many in all."""
    namespace, name = canonical_name(package.namespace.name), canonical_name(package.name)
    rows = session.execute(
        listed_packages()
        .add_columns(Version.dependencies)
        .where(
            Package.id != package.id,
            # A cheap first cut (LIKE's `_` stands for `-` or `_`, as in canonical names;
            # names hold no `%`); the exact test of kind, scope and names follows.
            _json_lower(Version.dependencies).like(f"%{name}%"),
        )
        .order_by(Namespace.name, Package.name)
    ).all()
    found = [row[0] for row in rows if _depends_on(row[1] or [], namespace, name)]
    return found[:MAX_USED_BY], len(found)
