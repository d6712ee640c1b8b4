"""The `/api/v1` JSON endpoints of the packages domain."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, File, Form, Header, Query, UploadFile
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from fpmreg.core.catalogue import CATALOGUE
from fpmreg.core.checks import UploadForm
from fpmreg.core.wire.checks import CheckEntry, CheckList
from fpmreg.core.wire.errors import ApiProblem
from fpmreg.core.wire.packages import PackageInfo, PublishResult, SearchResults, VersionInfo
from fpmreg.server.errors import InvalidInput, Unauthenticated
from fpmreg.server.http import AccountsDep, PackagesDep, StateDep
from fpmreg.server.metrics.service import downloads_by_package
from fpmreg.server.openapi import BEARER, api_errors, binary
from fpmreg.server.packages.fpm_api import get_tarball
from fpmreg.server.packages.schemas import (
    CURSOR_PATTERN,
    MAX_CURSOR_LENGTH,
    MAX_SEARCH_PAGE,
    NAMESPACE_DOC,
    QUERY_DOC,
    NamePath,
    NamespacePath,
    VersionPath,
    api_package,
    api_package_summary,
    api_version,
    check_search,
)
from fpmreg.server.packages.service import SEARCH_PAGE_SIZE

router = APIRouter(prefix="/api/v1", tags=["packages"])


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
    response_model=SearchResults,
    responses=api_errors(400, 422),
)
def search_packages(
    packages: PackagesDep,
    q: Annotated[str, QUERY_DOC] = "",
    namespace: Annotated[str, NAMESPACE_DOC] = "",
    cursor: CursorQuery = "",
    sort: Literal["relevance", "downloads"] = "relevance",
) -> SearchResults:
    """Packages whose name, namespace or description contains `q`, 20 at a time;
    `sort=downloads` puts the most downloaded (all time) first.

    Pass `next_cursor` back as `cursor` for the next page; it is absent on the last."""
    page = _cursor_page(cursor)
    check_search(q, page)
    rows, total = packages.search(
        q, page=page, namespace=namespace, sort=sort, downloads=downloads_by_package()
    )
    more = page * SEARCH_PAGE_SIZE < total and page < MAX_SEARCH_PAGE
    return SearchResults(
        packages=[api_package_summary(p) for p in rows],
        total=total,
        next_cursor=_cursor(page + 1) if more else "",
    )


@router.get(
    "/packages/{namespace}/{name}",
    summary="A package with all its versions",
    response_model=PackageInfo,
    responses=api_errors(404),
)
def get_package(
    namespace: NamespacePath, name: NamePath, packages: PackagesDep, state: StateDep
) -> PackageInfo:
    """Every version, newest first, with sha256, publish time, publisher and dependencies."""
    package = packages.get_package(namespace, name)
    versions = packages.versions(package)
    return api_package(state.settings, package, versions, packages.publishers(versions))


@router.get(
    "/packages/{namespace}/{name}/versions/{version}",
    summary="One version",
    response_model=VersionInfo,
    responses=api_errors(400, 404),
)
def get_version(
    namespace: NamespacePath,
    name: NamePath,
    version: VersionPath,
    packages: PackagesDep,
    state: StateDep,
) -> VersionInfo:
    """One version; `1.0` finds `1.0.0`."""
    package = packages.get_package(namespace, name)
    row = packages.get_version(package, version)
    return api_version(state.settings, package, row, packages.publishers([row]))


@router.get(
    "/packages/{namespace}/{name}/versions/{version}/download",
    summary="Tarball",
    response_class=Response,
    responses={**binary("application/gzip", "The tarball"), **api_errors(400, 404)},
)
def download(
    namespace: NamespacePath,
    name: NamePath,
    version: VersionPath,
    packages: PackagesDep,
    state: StateDep,
) -> Response:
    """The version's tarball (the same bytes as the fpm download URL)."""
    return get_tarball(namespace, name, f"{version}.tar.gz", packages, state)


@router.post(
    "/packages",
    summary="Publish a version",
    status_code=201,
    response_model=PublishResult,
    responses={
        200: {"model": PublishResult, "description": "A dry run passed; nothing was stored"},
        **api_errors(400, 401, 403, 404, 409, 413, 422, 429),
    },
    dependencies=[Depends(BEARER)],
)
async def publish(
    packages: PackagesDep,
    accounts: AccountsDep,
    state: StateDep,
    tarball: Annotated[UploadFile, File(description="the package as a gzip tar")],
    authorization: Annotated[str, Header(include_in_schema=False)] = "",
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
    body = PublishResult(
        namespace=result.namespace,
        name=result.name,
        version=result.version,
        sha256=result.sha256,
        size=result.size,
        dry_run=result.dry_run,
        url=f"{state.settings.base_url}/project/{result.namespace}/{result.name}",
        warnings=[ApiProblem.of(p) for p in result.warnings],
    )
    return JSONResponse(body.model_dump(mode="json"), status_code=200 if result.dry_run else 201)


@router.get("/checks", summary="Every upload check", response_model=CheckList)
def list_checks() -> CheckList:
    """The catalogue `fpmreg check` and the server share: code, severity, reason."""
    return CheckList(checks=[CheckEntry.model_validate(c.as_dict()) for c in CATALOGUE.values()])
