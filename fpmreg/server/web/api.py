"""`/api/v1` answers that combine domains: search by downloads, a namespace's packages."""

from __future__ import annotations

import base64
import binascii
from typing import Any, Literal

from fastapi import APIRouter

from fpmreg.server.accounts.deps import AccountsDep
from fpmreg.server.errors import InvalidInput
from fpmreg.server.metrics.service import downloads_by_package
from fpmreg.server.packages.deps import PackagesDep
from fpmreg.server.packages.schemas import api_package_summary
from fpmreg.server.packages.service import SEARCH_PAGE_SIZE

# The routes keep the tags of the domain whose resource they answer with.
router = APIRouter(prefix="/api/v1")


def _cursor_page(cursor: str) -> int:
    if not cursor:
        return 1
    try:
        return max(1, int(base64.urlsafe_b64decode(cursor.encode()).decode()))
    except (ValueError, binascii.Error) as exc:
        raise InvalidInput(
            "cursor-invalid", "the cursor is not one this API gave out", "cursor"
        ) from exc


@router.get("/packages", summary="Search packages", tags=["packages"])
def search_packages(
    packages: PackagesDep,
    q: str = "",
    namespace: str = "",
    cursor: str = "",
    sort: Literal["relevance", "downloads"] = "relevance",
) -> dict[str, Any]:
    """Packages whose name, namespace or description contains `q`, 20 at a time;
    `sort=downloads` puts the most downloaded (all time) first.

    Pass `next_cursor` back as `cursor` for the next page; it is absent on the last."""
    page = _cursor_page(cursor)
    rows, total = packages.search(
        q, page=page, namespace=namespace, sort=sort, downloads=downloads_by_package()
    )
    body: dict[str, Any] = {"packages": [api_package_summary(p) for p in rows], "total": total}
    if page * SEARCH_PAGE_SIZE < total:
        body["next_cursor"] = base64.urlsafe_b64encode(str(page + 1).encode()).decode()
    return body


@router.get(
    "/namespaces/{namespace}", summary="A namespace, its members and packages", tags=["accounts"]
)
def get_namespace(namespace: str, accounts: AccountsDep, packages: PackagesDep) -> dict[str, Any]:
    """Public facts only: no email addresses."""
    ns = accounts.get_namespace(namespace)
    return {
        "name": ns.name,
        "description": ns.description,
        "members": [{"username": m.user.username, "role": m.role} for m in accounts.members(ns)],
        "packages": [api_package_summary(p) for p in packages.packages_in(ns)],
    }
