"""`GET /api/v1/packages/{ns}/{name}/diff/{from}/{to}`: the reviewable diff (docs/diffs.md).

The diff is computed from the two stored tarballs by `fpmreg.core.diff` (in memory,
with its bounds) and depends on nothing else, so it is served as immutable. Access is
the tarballs' own: a quarantined package is 403, a deleted version 410, an unknown one
404; a diff over the size limit is 413.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable
from enum import StrEnum
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response

from fpmreg.core.diff import (
    EMPTY,
    DiffInputError,
    DiffTooLarge,
    Side,
    diff_sides,
    read_tree,
    render,
)
from fpmreg.core.versions import MAX_VERSION_LENGTH
from fpmreg.core.wire.diffs import PackageDiff
from fpmreg.server.errors import DomainError, TooLarge
from fpmreg.server.http import AppState, StateDep
from fpmreg.server.openapi import api_errors
from fpmreg.server.packages.deps import PackagesDep
from fpmreg.server.packages.models import Package
from fpmreg.server.packages.schemas import VERSION_PATTERN, NamePath, NamespacePath, VersionPath
from fpmreg.server.packages.service import PackagesService
from fpmreg.server.packages.tarballs import read_small
from fpmreg.server.ratelimit import Limit, client_address
from fpmreg.server.storage import BlobStore

router = APIRouter(prefix="/api/v1", tags=["packages"])

# `from` names for the empty package: a diff from it lists every file as added.
EMPTY_NAMES = frozenset({EMPTY, "0.0.0"})
IMMUTABLE = "public, max-age=31536000, immutable"
# Diffs a client may have computed per minute (docs/diffs.md, "Limits"): each reads and
# decompresses two tarballs. Diffs served from the cache are not counted.
DIFFS_COMPUTED = Limit("diff", 30, 60, "diffs computed")
# Diffs kept in memory by tarball digests: a review opens the same diff several times.
_CACHE_ENTRIES = 16
_cache: OrderedDict[tuple[str, str, str], PackageDiff] = OrderedDict()
_cache_lock = threading.Lock()

FromPath = Annotated[
    str,
    Path(
        description="the older version, or `empty` (also `0.0.0`) for the empty package",
        examples=["1.0.0"],
        json_schema_extra={
            "pattern": f"^(?:empty|{VERSION_PATTERN})$",
            "maxLength": MAX_VERSION_LENGTH,
        },
    ),
]


class DiffFormat(StrEnum):
    """`?format=`: the unified diff as text, or the typed `PackageDiff`."""

    TEXT = "text"
    JSON = "json"


def diff_side(packages: PackagesService, package: Package, version: str) -> Side:
    """A stored version (404 unknown, 410 deleted) as a diff side; its files are read later."""
    if version in EMPTY_NAMES:
        return Side(EMPTY, "", {})
    row = packages.get_version(package, version)
    return Side(row.version, row.sha256, {})


def _files(store: BlobStore, side: Side) -> Side:
    if not side.sha256:
        return side
    try:
        files = read_tree(read_small(store, side.sha256))
    except DiffInputError as exc:
        error = DomainError.of(exc.problems)
        error.status = 422
        raise error from None
    return Side(side.version, side.sha256, files)


def compute_diff(
    store: BlobStore,
    package: str,
    old: Side,
    new: Side,
    before_computing: Callable[[], None] = lambda: None,
) -> PackageDiff:
    """The diff of two sides by their tarballs, from the cache when it was made before;
    `before_computing` runs when it was not (the rate limit: it may raise)."""
    key = (package, f"{old.version}:{old.sha256}", f"{new.version}:{new.sha256}")
    with _cache_lock:
        cached = _cache.get(key)
        if cached is not None:
            _cache.move_to_end(key)
            return cached
    before_computing()
    try:
        diff = diff_sides(package, _files(store, old), _files(store, new))
    except DiffTooLarge as exc:
        raise TooLarge("diff-too-large", str(exc)) from None
    with _cache_lock:
        _cache[key] = diff
        while len(_cache) > _CACHE_ENTRIES:
            _cache.popitem(last=False)
    return diff


def limited_diff(
    request: Request, state: AppState, package: str, old: Side, new: Side
) -> PackageDiff:
    """`compute_diff` under the client's `DIFFS_COMPUTED` limit (the API and the page)."""
    client = state.limiter.client_key(client_address(request.scope))
    return compute_diff(
        state.store, package, old, new, lambda: state.limiter.hit(DIFFS_COMPUTED, client)
    )


@router.get(
    "/packages/{namespace}/{name}/diff/{from_version}/{to_version}",
    summary="The diff between two versions",
    response_class=Response,
    responses={
        200: {
            "model": PackageDiff,
            "description": "The unified diff (text/plain), or `PackageDiff` with `format=json`",
            "content": {"text/plain": {"schema": {"type": "string"}}},
        },
        **api_errors(400, 403, 404, 410, 413, 422, 429),
    },
)
def get_diff(
    request: Request,
    namespace: NamespacePath,
    name: NamePath,
    from_version: FromPath,
    to_version: VersionPath,
    packages: PackagesDep,
    state: StateDep,
    format: Annotated[
        DiffFormat, Query(description="`text` (a unified diff) or `json` (`PackageDiff`)")
    ] = DiffFormat.TEXT,
) -> Response:
    """What changed from `from_version` to `to_version`, computed from the stored tarballs:
    files added, removed and changed, sorted by path, each with its sha256; the first line
    names both versions and both tarball digests. Byte-identical for the same two
    versions, so served as immutable (docs/diffs.md)."""
    package = packages.available_package(namespace, name)  # quarantined: 403
    old = diff_side(packages, package, from_version)
    new = diff_side(packages, package, to_version)
    full_name = f"{package.namespace.name}/{package.name}"
    diff = limited_diff(request, state, full_name, old, new)
    if format is DiffFormat.JSON:
        body, media_type = diff.model_dump_json().encode(), "application/json"
    else:
        body, media_type = render(diff).encode(), "text/plain; charset=utf-8"
    headers = {
        "Cache-Control": IMMUTABLE,
        "ETag": f'"{hashlib.sha256(body).hexdigest()}"',
        "X-Diff-From-Sha256": old.sha256,
        "X-Diff-To-Sha256": new.sha256,
        "X-Content-Type-Options": "nosniff",
    }
    return Response(body, media_type=media_type, headers=headers)
