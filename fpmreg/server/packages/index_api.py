"""`/api/v1` endpoints for resolvers and owners: the package index, yank and unyank.

The index is what `fpmreg lock` reads: one request per package, every version with
its sha256, yanked flag and dependencies, cacheable with an ETag.
"""

from __future__ import annotations

import hashlib
import json
from typing import Annotated, Any

from fastapi import APIRouter, Body, Header, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from fpmreg.server.accounts.deps import AccountsDep
from fpmreg.server.errors import Unauthenticated
from fpmreg.server.http import SessionDep, StateDep
from fpmreg.server.packages.deps import PackagesDep
from fpmreg.server.packages.schemas import tarball_path
from fpmreg.server.packages.yanking import MAX_REASON_LENGTH, YankService

router = APIRouter(prefix="/api/v1", tags=["index"])


@router.get("/index/{namespace}/{name}", summary="Resolver index of one package")
def package_index(
    namespace: str, name: str, request: Request, packages: PackagesDep, state: StateDep
) -> Response:
    """Every version (yanked ones flagged) with sha256, dependencies and ranges.

    Send `If-None-Match` with the last `ETag` to get a `304` when nothing changed."""
    package = packages.get_package(namespace, name)
    versions = []
    for v in packages.versions(package):
        ranges = {d["name"]: d["requirement"] for d in v.dependencies if "requirement" in d}
        versions.append(
            {
                "version": v.version,
                "sha256": v.sha256,
                "yanked": v.yanked,
                "dependencies": v.dependencies,
                "ranges": ranges,
                "download_url": state.settings.base_url
                + tarball_path(package.namespace.name, package.name, v.version),
            }
        )
    document: dict[str, Any] = {
        "namespace": package.namespace.name,
        "name": package.name,
        "versions": versions,
    }
    body = json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    headers = {"ETag": etag, "Cache-Control": "public, max-age=0, must-revalidate"}
    if etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="application/json", headers=headers)


class YankRequest(BaseModel):
    """Why a version is yanked; shown to its users."""

    reason: str = Field(max_length=MAX_REASON_LENGTH)


def _bearer(authorization: str) -> str:
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated(
            "token-missing",
            "send a token with the `yank` scope as `Authorization: Bearer <token>`",
            "authorization",
        )
    return token.strip()


def _yank(
    state: StateDep,
    session: SessionDep,
    packages: PackagesDep,
    accounts: AccountsDep,
    authorization: str,
    namespace: str,
    name: str,
    version: str,
    *,
    yanked: bool,
    reason: str,
) -> dict[str, Any]:
    service = YankService(session, state.clock, packages, state.changes)
    row = service.yank_with_token(
        accounts, _bearer(authorization), namespace, name, version, yanked=yanked, reason=reason
    )
    return {
        "namespace": namespace,
        "name": name,
        "version": row.version,
        "yanked": row.yanked,
        "yank_reason": row.yank_reason,
    }


@router.put("/packages/{namespace}/{name}/versions/{version}/yank", summary="Yank a version")
def yank(
    namespace: str,
    name: str,
    version: str,
    request_body: Annotated[YankRequest, Body()],
    state: StateDep,
    session: SessionDep,
    packages: PackagesDep,
    accounts: AccountsDep,
    authorization: Annotated[str, Header()] = "",
) -> dict[str, Any]:
    """Stop offering a version as latest or for new resolutions; it stays downloadable."""
    return _yank(
        state,
        session,
        packages,
        accounts,
        authorization,
        namespace,
        name,
        version,
        yanked=True,
        reason=request_body.reason,
    )


@router.delete("/packages/{namespace}/{name}/versions/{version}/yank", summary="Unyank")
def unyank(
    namespace: str,
    name: str,
    version: str,
    state: StateDep,
    session: SessionDep,
    packages: PackagesDep,
    accounts: AccountsDep,
    authorization: Annotated[str, Header()] = "",
) -> dict[str, Any]:
    """Offer a yanked version again."""
    return _yank(
        state,
        session,
        packages,
        accounts,
        authorization,
        namespace,
        name,
        version,
        yanked=False,
        reason="",
    )
