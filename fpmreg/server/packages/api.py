"""The `/api/v1` JSON endpoints of the packages domain."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Form, Header, UploadFile
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from fpmreg.core.catalogue import CATALOGUE
from fpmreg.core.checks import UploadForm
from fpmreg.server.errors import InvalidInput, Unauthenticated
from fpmreg.server.http import AccountsDep, PackagesDep, StateDep
from fpmreg.server.metrics.service import downloads_by_package
from fpmreg.server.packages.fpm_api import get_tarball
from fpmreg.server.packages.schemas import api_package, api_package_summary, api_version
from fpmreg.server.packages.service import SEARCH_PAGE_SIZE

router = APIRouter(prefix="/api/v1", tags=["packages"])


def _cursor_page(cursor: str) -> int:
    if not cursor:
        return 1
    try:
        return max(1, int(base64.urlsafe_b64decode(cursor.encode()).decode()))
    except (ValueError, binascii.Error) as exc:
        raise InvalidInput(
            "cursor-invalid", "the cursor is not one this API gave out", "cursor"
        ) from exc


@router.get("/packages", summary="Search packages")
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


@router.get("/packages/{namespace}/{name}", summary="A package with all its versions")
def get_package(
    namespace: str, name: str, packages: PackagesDep, state: StateDep
) -> dict[str, Any]:
    """Every version, newest first, with sha256, publish time, publisher and dependencies."""
    package = packages.get_package(namespace, name)
    versions = packages.versions(package)
    return api_package(state.settings, package, versions, packages.publishers(versions))


@router.get("/packages/{namespace}/{name}/versions/{version}", summary="One version")
def get_version(
    namespace: str, name: str, version: str, packages: PackagesDep, state: StateDep
) -> dict[str, Any]:
    """One version; `1.0` finds `1.0.0`."""
    package = packages.get_package(namespace, name)
    row = packages.get_version(package, version)
    return api_version(state.settings, package, row, packages.publishers([row]))


@router.get("/packages/{namespace}/{name}/versions/{version}/download", summary="Tarball")
def download(
    namespace: str, name: str, version: str, packages: PackagesDep, state: StateDep
) -> Response:
    """The version's tarball (the same bytes as the fpm download URL)."""
    return get_tarball(namespace, name, f"{version}.tar.gz", packages, state)


@router.post("/packages", summary="Publish a version", status_code=201)
async def publish(
    packages: PackagesDep,
    accounts: AccountsDep,
    state: StateDep,
    tarball: Annotated[UploadFile, File(description="the package as a gzip tar")],
    authorization: Annotated[str, Header(description="`Bearer <token>`")] = "",
    dry_run: Annotated[bool, Form()] = False,
) -> JSONResponse:
    """Publish the tarball; name, version and license come from its fpm.toml.

    The token decides the namespace. `dry_run=true` runs every check, stores nothing."""
    scheme, _, token = authorization.partition(" ")
    if authorization and scheme.lower() != "bearer":
        raise Unauthenticated(
            "authorization-scheme",
            "send the token as `Authorization: Bearer <token>`",
            "authorization",
        )
    state.publish_limiter.hit(token[:16] or "anonymous", "publishes")
    result = await run_in_threadpool(
        packages.publish_version,
        accounts,
        tarball.file,
        token=token.strip(),
        form=UploadForm(),
        dry_run=dry_run,
    )
    body = {
        "namespace": result.namespace,
        "name": result.name,
        "version": result.version,
        "sha256": result.sha256,
        "size": result.size,
        "dry_run": result.dry_run,
        "url": f"{state.settings.base_url}/project/{result.namespace}/{result.name}",
        "warnings": [
            {"code": p.code, "field": p.field, "detail": p.message} for p in result.warnings
        ],
    }
    return JSONResponse(body, status_code=200 if result.dry_run else 201)


@router.get("/checks", summary="Every upload check")
def list_checks() -> dict[str, Any]:
    """The catalogue `fpmreg check` and the server share: code, severity, reason."""
    return {"checks": [check.as_dict() for check in CATALOGUE.values()]}
