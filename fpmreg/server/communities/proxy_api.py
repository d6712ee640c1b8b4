"""A community's proxy registry for fpm: `/c/{community}/fpm` as `[registry] url`
(docs/communities.md, "Proxy registries").

The routes answer exactly as the main fpm API does (docs/fpm-protocol.md: strict JSON,
integer `code`, no redirect, `message` printed by fpm), for the releases the
community's default policy passes; every error is fpm's `{code, message}` envelope
(`fpmreg.server.http.is_fpm_path`). A trailing slash in `url` (`/c/x/fpm//packages/…`)
is collapsed by the app's path guard.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from fpmreg.core.fpmjson import dumps_fpm
from fpmreg.core.wire.fpm import FpmLatestDocument, FpmVersionDocument
from fpmreg.server.communities.api import CommunityPath, service
from fpmreg.server.communities.proxy import ProxyService
from fpmreg.server.errors import NotFound
from fpmreg.server.http import SessionDep, StateDep
from fpmreg.server.openapi import binary, fpm_errors
from fpmreg.server.packages.advisory_hook import fpm_with_advisories
from fpmreg.server.packages.deps import AdvisoryHookDep, DownloadListenerDep, PackagesDep
from fpmreg.server.packages.fpm_api import tarball_headers
from fpmreg.server.packages.schemas import NamePath, NamespacePath, TarballPath, VersionPath
from fpmreg.server.packages.tarballs import tarball_response

router = APIRouter(prefix="/c/{community}/fpm", tags=["fpm"])


def _proxy(session: SessionDep, state: StateDep, packages: PackagesDep) -> ProxyService:
    return ProxyService(session, service(session, state), packages)


def _metadata(
    community: str, namespace: str, name: str, version: str | None,
    session: SessionDep, state: StateDep, packages: PackagesDep, advisories: AdvisoryHookDep,
) -> Response:  # fmt: skip
    proxy = _proxy(session, state, packages)
    policy = proxy.policy(community)
    package, document = proxy.document(state.settings, policy, namespace, name, version)
    document = fpm_with_advisories(document, advisories, session, package.id)
    return Response(dumps_fpm(document), media_type="application/json")


@router.get(
    "/packages/{namespace}/{name}",
    summary="Latest passing version, through a community's proxy registry",
    response_model=FpmLatestDocument,
    responses=fpm_errors(400, 403, 404, 410),
)
def get_latest(
    community: CommunityPath, namespace: NamespacePath, name: NamePath, session: SessionDep,
    state: StateDep, packages: PackagesDep, advisories: AdvisoryHookDep,
) -> Response:  # fmt: skip
    """The newest release that is not yanked and whose current verdict under the
    community's policy `default` is PASSED; `version_history` lists passing versions."""
    return _metadata(community, namespace, name, None, session, state, packages, advisories)


@router.get(
    "/packages/{namespace}/{name}/{version}",
    summary="One passing version, through a community's proxy registry",
    response_model=FpmVersionDocument,
    responses=fpm_errors(400, 403, 404, 410),
)
def get_version(
    community: CommunityPath, namespace: NamespacePath, name: NamePath, version: VersionPath,
    session: SessionDep, state: StateDep, packages: PackagesDep, advisories: AdvisoryHookDep,
) -> Response:  # fmt: skip
    """A pinned release if it passes; otherwise code 403 naming the policy, the first
    reason of the verdict and the versions that pass."""
    return _metadata(community, namespace, name, version, session, state, packages, advisories)


_TARBALL_DOC: dict[str, Any] = {
    "response_class": Response,
    "responses": {
        **binary("application/gzip", "The tarball of a passing release"),
        **fpm_errors(400, 403, 404, 410),
    },
}


@router.get(
    "/tarballs/{namespace}/{name}/{filename}",
    summary="Download a passing release's tarball",
    **_TARBALL_DOC,
)
@router.head(
    "/tarballs/{namespace}/{name}/{filename}",
    summary="A passing release's tarball headers",
    **_TARBALL_DOC,
)
def get_tarball(
    request: Request, community: CommunityPath, namespace: NamespacePath, name: NamePath,
    filename: TarballPath, session: SessionDep, state: StateDep, packages: PackagesDep,
    downloads: DownloadListenerDep,
) -> Response:  # fmt: skip
    """The bytes of a release that passes, as the main tarball route serves them; a
    release that does not pass is refused with the same 403 as its metadata."""
    if not filename.endswith(".tar.gz"):
        raise NotFound("tarball-not-found", f"no tarball `{filename}`: names end in `.tar.gz`")
    proxy = _proxy(session, state, packages)
    policy = proxy.policy(community)
    package, version = proxy.release(policy, namespace, name, filename.removesuffix(".tar.gz"))
    response = tarball_response(
        state.store,
        version.sha256,
        tarball_headers(package.name, version),
        head=request.method == "HEAD",
    )
    downloads.record_id(version.id)  # counted as a download of the release, like the main route
    return response
