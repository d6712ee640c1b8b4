"""`/api/v1` endpoints for resolvers and owners: the package index, yank and unyank.

The index is what `fpmreg lock` reads: one request per package, every version with
its sha256, yanked flag and dependencies, cacheable with an ETag.
"""

from __future__ import annotations

import hashlib
from typing import Annotated

from fastapi import APIRouter, Body, Depends, Request
from fastapi.responses import Response
from fastapi.security import HTTPAuthorizationCredentials

from fpmreg.core.wire.index import IndexDocument, IndexEntry, YankRequest, YankState
from fpmreg.server.accounts.deps import AccountsDep
from fpmreg.server.errors import Unauthenticated
from fpmreg.server.http import SessionDep, StateDep
from fpmreg.server.openapi import BEARER, api_errors, not_modified
from fpmreg.server.packages.deps import PackagesDep
from fpmreg.server.packages.schemas import (
    NamePath,
    NamespacePath,
    VersionPath,
    dependencies,
    tarball_path,
)
from fpmreg.server.packages.yanking import YankService

router = APIRouter(prefix="/api/v1", tags=["index"])


@router.get(
    "/index/{namespace}/{name}",
    summary="Resolver index of one package",
    response_model=IndexDocument,
    responses={**not_modified(), **api_errors(404)},
)
def package_index(
    namespace: NamespacePath,
    name: NamePath,
    request: Request,
    packages: PackagesDep,
    state: StateDep,
) -> Response:
    """Every version (yanked ones flagged) with sha256, dependencies and ranges.

    Send `If-None-Match` with the last `ETag` to get a `304` when nothing changed."""
    package = packages.get_package(namespace, name)
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
                download_url=state.settings.base_url
                + tarball_path(package.namespace.name, package.name, v.version),
            )
        )
    document = IndexDocument(namespace=package.namespace.name, name=package.name, versions=versions)
    body = document.model_dump_json().encode()
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    headers = {"ETag": etag, "Cache-Control": "public, max-age=0, must-revalidate"}
    if etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="application/json", headers=headers)


Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(BEARER)]


def _bearer(credentials: HTTPAuthorizationCredentials | None) -> str:
    token = credentials.credentials.strip() if credentials else ""
    if not token:
        raise Unauthenticated(
            "token-missing",
            "send a token with the `yank` scope as `Authorization: Bearer <token>`",
            "authorization",
        )
    return token


def _yank(
    state: StateDep,
    session: SessionDep,
    packages: PackagesDep,
    accounts: AccountsDep,
    credentials: HTTPAuthorizationCredentials | None,
    namespace: str,
    name: str,
    version: str,
    *,
    yanked: bool,
    reason: str,
) -> YankState:
    service = YankService(session, state.clock, packages, state.changes)
    row = service.yank_with_token(
        accounts, _bearer(credentials), namespace, name, version, yanked=yanked, reason=reason
    )
    return YankState(
        namespace=namespace,
        name=name,
        version=row.version,
        yanked=row.yanked,
        yank_reason=row.yank_reason,
    )


_YANK_ERRORS = api_errors(400, 401, 403, 404, 422)


@router.put(
    "/packages/{namespace}/{name}/versions/{version}/yank",
    summary="Yank a version",
    response_model=YankState,
    responses=_YANK_ERRORS,
)
def yank(
    namespace: NamespacePath,
    name: NamePath,
    version: VersionPath,
    request_body: Annotated[YankRequest, Body()],
    state: StateDep,
    session: SessionDep,
    packages: PackagesDep,
    accounts: AccountsDep,
    credentials: Credentials,
) -> YankState:
    """Stop offering a version as latest or for new resolutions; it stays downloadable."""
    return _yank(
        state,
        session,
        packages,
        accounts,
        credentials,
        namespace,
        name,
        version,
        yanked=True,
        reason=request_body.reason,
    )


@router.delete(
    "/packages/{namespace}/{name}/versions/{version}/yank",
    summary="Unyank",
    response_model=YankState,
    responses=_YANK_ERRORS,
)
def unyank(
    namespace: NamespacePath,
    name: NamePath,
    version: VersionPath,
    state: StateDep,
    session: SessionDep,
    packages: PackagesDep,
    accounts: AccountsDep,
    credentials: Credentials,
) -> YankState:
    """Offer a yanked version again."""
    return _yank(
        state,
        session,
        packages,
        accounts,
        credentials,
        namespace,
        name,
        version,
        yanked=False,
        reason="",
    )
