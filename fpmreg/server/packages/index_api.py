"""`/api/v1/index`: the package index resolvers read (yank is in `moderation/api.py`).

The index is what `fpmreg lock` reads: one request per package, every version with
its sha256, yanked flag and dependencies, cacheable with an ETag. It also lists deleted
versions (`tombstones`) and the package's deprecation, so `fpmreg lock` and `sync` can
refuse a deleted version and warn about a deprecated package. A quarantined package
answers 403 `package-quarantined`, a deleted one 410 `package-deleted`.
"""

from __future__ import annotations

import hashlib

from fastapi import APIRouter, Request
from fastapi.responses import Response

from fpmreg.core.wire.index import IndexDocument, IndexEntry, IndexTombstone
from fpmreg.server.http import StateDep
from fpmreg.server.openapi import api_errors, not_modified
from fpmreg.server.packages.deps import PackagesDep
from fpmreg.server.packages.schemas import (
    NamePath,
    NamespacePath,
    dependencies,
    tarball_path,
)
from fpmreg.server.packages.tombstones import tombstone_path, version_tombstones

router = APIRouter(prefix="/api/v1", tags=["index"])


@router.get(
    "/index/{namespace}/{name}",
    summary="Resolver index of one package",
    response_model=IndexDocument,
    responses={**not_modified(), **api_errors(403, 404, 410)},
)
def package_index(
    namespace: NamespacePath,
    name: NamePath,
    request: Request,
    packages: PackagesDep,
    state: StateDep,
) -> Response:
    """Every version (yanked ones flagged) with sha256, dependencies and ranges; deleted
    versions in `tombstones`; the deprecation, if any.

    Send `If-None-Match` with the last `ETag` to get a `304` when nothing changed."""
    package = packages.available_package(namespace, name)
    base = state.settings.base_url
    versions = []
    for v in packages.versions(package):
        ranges = {d["name"]: d["requirement"] for d in v.dependencies if "requirement" in d}
        versions.append(
            IndexEntry(
                version=v.version,
                sha256=v.sha256,
                yanked=v.yanked,
                dependencies=dependencies(v),
                ranges=ranges,
                download_url=base + tarball_path(package.namespace.name, package.name, v.version),
            )
        )
    tombstones = [
        IndexTombstone(
            version=t.version,
            category=t.category,
            deleted_at=t.deleted_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            url=base + tombstone_path(t),
        )
        for t in version_tombstones(packages.session, package.namespace.name, package.name)
    ]
    document = IndexDocument(
        namespace=package.namespace.name,
        name=package.name,
        versions=versions,
        tombstones=tombstones,
        deprecated=package.deprecated_at is not None,
        deprecation_message=package.deprecation_message,
        replacement=package.replacement,
    )
    body = document.model_dump_json().encode()
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    headers = {"ETag": etag, "Cache-Control": "public, max-age=0, must-revalidate"}
    if etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="application/json", headers=headers)
