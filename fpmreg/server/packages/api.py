"""The `/api/v1` JSON endpoints of the packages domain."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile

from fpmreg.core.catalogue import CATALOGUE
from fpmreg.core.checks import UploadForm
from fpmreg.core.wire.checks import CheckEntry, CheckList
from fpmreg.core.wire.errors import ApiProblem
from fpmreg.core.wire.packages import PackageInfo, PublishResult, VersionInfo
from fpmreg.server.accounts.deps import AccountsDep
from fpmreg.server.errors import DomainError, Unauthenticated
from fpmreg.server.http import StateDep
from fpmreg.server.openapi import BEARER, api_errors, binary, multipart_body
from fpmreg.server.packages.advisory_hook import package_with_advisories, version_with_advisories
from fpmreg.server.packages.deps import (
    AdvisoryHookDep,
    BuildHookDep,
    DownloadListenerDep,
    PackagesDep,
    authorize_publisher,
)
from fpmreg.server.packages.expectations import expectations_of, expectations_wire
from fpmreg.server.packages.fpm_api import get_tarball
from fpmreg.server.packages.schemas import (
    NamePath,
    NamespacePath,
    VersionPath,
    api_package,
    api_version,
)

router = APIRouter(prefix="/api/v1", tags=["packages"])


@router.get(
    "/packages/{namespace}/{name}",
    summary="A package with all its versions",
    response_model=PackageInfo,
    responses=api_errors(403, 404, 410),
)
def get_package(
    namespace: NamespacePath,
    name: NamePath,
    packages: PackagesDep,
    state: StateDep,
    advisories: AdvisoryHookDep,
) -> PackageInfo:
    """Every version, newest first, with sha256, publish time, publisher and dependencies,
    and the deprecation; a quarantined package is 403, a deleted one 410."""
    package = packages.available_package(namespace, name)
    versions = packages.versions(package)
    info = api_package(state.settings, package, versions, packages.publishers(versions))
    declared = expectations_wire(expectations_of(packages.session, package))
    if declared is not None:  # docs/expectations.md
        info = info.model_copy(update={"expectations": declared})
    return package_with_advisories(info, advisories, packages.session, package.id)


@router.get(
    "/packages/{namespace}/{name}/versions/{version}",
    summary="One version",
    response_model=VersionInfo,
    responses=api_errors(400, 403, 404, 410),
)
def get_version(
    namespace: NamespacePath,
    name: NamePath,
    version: VersionPath,
    packages: PackagesDep,
    state: StateDep,
    advisories: AdvisoryHookDep,
    builds: BuildHookDep,
) -> VersionInfo:
    """One version; `1.0` finds `1.0.0`. `build`: the registry's build of it, when
    build verification ran (docs/builds.md)."""
    package = packages.available_package(namespace, name)
    row = packages.get_version(package, version)
    info = api_version(state.settings, package, row, packages.publishers([row]))
    info = info.model_copy(update={"build": builds.status_of(packages.session, package, row)})
    return version_with_advisories(info, advisories, packages.session, package.id)


@router.get(
    "/packages/{namespace}/{name}/versions/{version}/download",
    summary="Tarball",
    response_class=Response,
    responses={**binary("application/gzip", "The tarball"), **api_errors(400, 403, 404, 410)},
)
def download(
    request: Request,
    namespace: NamespacePath,
    name: NamePath,
    version: VersionPath,
    packages: PackagesDep,
    state: StateDep,
    downloads: DownloadListenerDep,
) -> Response:
    """The version's tarball (the same bytes as the fpm download URL)."""
    return get_tarball(request, namespace, name, f"{version}.tar.gz", packages, state, downloads)


# The body is parsed by the handler itself (so a bad token is refused before it is read).
_PUBLISH_BODY = multipart_body(
    {
        "tarball": {
            "type": "string",
            "format": "binary",
            "description": "the package as a gzip tar",
        },
        "dry_run": {"type": "boolean", "default": False},
    },
    ["tarball"],
)
# `tarball` and `dry_run`, and a few spare.
MAX_PUBLISH_FIELDS = 10
_TRUE = frozenset({"true", "1", "yes", "on"})
_FALSE = frozenset({"false", "0", "no", "off", ""})


def _bearer_token(authorization: str) -> str:
    scheme, _, token = authorization.partition(" ")
    if authorization and scheme.lower() != "bearer":
        raise Unauthenticated(
            "authorization-scheme",
            "send the token as `Authorization: Bearer <token>`",
            "authorization",
        )
    return token.strip()


def _request_invalid(field: str, message: str) -> DomainError:
    error = DomainError("request-invalid", f"`{field}`: {message}", field)
    error.status = 422
    return error


def _publish_fields(form: FormData) -> tuple[UploadFile, bool]:
    """The tarball and the dry-run flag of the publish form."""
    tarball = form.get("tarball")
    if not isinstance(tarball, UploadFile):
        raise _request_invalid(
            "tarball", "Field required: attach the package as the `tarball` file field"
        )
    dry_run = str(form.get("dry_run", "")).strip().lower()
    if dry_run not in _TRUE | _FALSE:
        raise _request_invalid("dry_run", "give `true` or `false`")
    return tarball, dry_run in _TRUE


@router.post(
    "/packages",
    summary="Publish a version",
    status_code=201,
    openapi_extra=_PUBLISH_BODY,
    response_model=PublishResult,
    responses={
        200: {"model": PublishResult, "description": "A dry run passed; nothing was stored"},
        **api_errors(400, 401, 403, 404, 409, 410, 413, 422, 429),
    },
    dependencies=[Depends(BEARER)],  # documents the scheme; the handler reads the header
)
async def publish(
    request: Request,
    packages: PackagesDep,
    accounts: AccountsDep,
    state: StateDep,
    authorization: Annotated[str, Header(include_in_schema=False)] = "",
) -> JSONResponse:
    """Publish the tarball; name, version and license come from its fpm.toml.

    The token decides the namespace. `dry_run=true` runs every check, stores nothing.
    The token is checked (and the publisher's rate limit applied) before the body is
    read at all: a request without a valid token is refused without waiting for it."""
    grant = await authorize_publisher(accounts, state, _bearer_token(authorization))
    form = await request.form(max_files=1, max_fields=MAX_PUBLISH_FIELDS)
    try:
        tarball, dry_run = _publish_fields(form)
        result = await run_in_threadpool(
            packages.publish_as, grant, tarball.file, form=UploadForm(), dry_run=dry_run
        )
    finally:
        await form.close()
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
