"""The diff between two versions as a web page (docs/diffs.md, "On the web").

The same diff as `GET /api/v1/packages/{ns}/{name}/diff/{from}/{to}` (`diff_api`),
every line escaped by the template and marked as added, removed or context.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from fpmreg.core.diff import split_lines
from fpmreg.server.accounts.deps import CurrentUser
from fpmreg.server.http import StateDep, render
from fpmreg.server.packages.deps import PackagesDep
from fpmreg.server.packages.diff_api import diff_side, limited_diff

router = APIRouter(include_in_schema=False)

# The CSS class of a diff line, by its first character.
_KINDS = {"+": "add", "-": "del", "@": "hunk", " ": "ctx", "\\": "note"}


def line_kind(line: str) -> str:
    """`add`, `del`, `hunk`, `ctx`, `note`, or `head` for the `---`/`+++` lines."""
    if line.startswith(("--- ", "+++ ")):
        return "head"
    return _KINDS.get(line[:1], "note")


@router.get("/project/{namespace}/{name}/diff/{from_version}/{to_version}")
def diff_page(
    request: Request,
    namespace: str,
    name: str,
    from_version: str,
    to_version: str,
    user: CurrentUser,
    packages: PackagesDep,
    state: StateDep,
) -> Response:
    package = packages.available_package(namespace, name)
    old = diff_side(packages, package, from_version)
    new = diff_side(packages, package, to_version)
    diff = limited_diff(request, state, f"{package.namespace.name}/{package.name}", old, new)
    files = [
        (change, [(line_kind(line), line.removesuffix("\n")) for line in split_lines(change.diff)])
        for change in diff.files
    ]
    api = (
        f"/api/v1/packages/{package.namespace.name}/{package.name}/diff/{old.version}/{new.version}"
    )
    return render(
        request,
        "diff.html",
        {"user": user, "package": package, "diff": diff, "files": files, "api": api},
    )
