"""`GET /api/v1/packages/{namespace}/{name}/{version}/sbom`: a release's SBOM in SPDX
2.3, SPDX 3.0.1 or CycloneDX 1.6, created at the release's publish time, so the same
release gives the same bytes while the registry's index is unchanged (docs/sbom.md)."""

from __future__ import annotations

import hashlib
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from fpmreg import __version__
from fpmreg.core.sbom import DEFAULT_FORMAT, FORMATS, UnknownFormat, emit, format_named
from fpmreg.server.errors import InvalidInput
from fpmreg.server.http import StateDep
from fpmreg.server.linked.badges_facts import subject
from fpmreg.server.linked.codemeta_api import json_errors
from fpmreg.server.linked.sbom import release_sbom
from fpmreg.server.openapi import not_modified
from fpmreg.server.packages.deps import PackagesDep
from fpmreg.server.packages.schemas import NamePath, NamespacePath, VersionPath

FormatQuery = Annotated[
    str,
    Query(
        alias="format",
        description="the SBOM format: " + ", ".join(f"`{n}`" for n in FORMATS),
        json_schema_extra={"enum": list(FORMATS)},
    ),
]


def _documents() -> dict[int | str, dict[str, Any]]:
    content = {f.media_type: {"schema": {"type": "object"}} for f in FORMATS.values()}
    return {200: {"description": "the SBOM, in the format asked for", "content": content}}


router = APIRouter(prefix="/api/v1", tags=["packages"])


@router.get(
    "/packages/{namespace}/{name}/{version}/sbom",
    summary="SBOM of a release",
    response_class=Response,
    responses={**_documents(), **not_modified(), **json_errors(400, 404, 409, 410, 422)},
)
def sbom(
    namespace: NamespacePath,
    name: NamePath,
    version: VersionPath,
    request: Request,
    packages: PackagesDep,
    state: StateDep,
    format_name: FormatQuery = DEFAULT_FORMAT,
) -> Response:
    """The release and its `[dependencies]`, resolved against this registry (each to
    the newest version that is not yanked and fits every requirement), with sha256,
    licence, download URL and transparency-log index. `If-None-Match` with the `ETag`
    gives 304."""
    try:
        chosen = format_named(format_name)
    except UnknownFormat as exc:
        raise InvalidInput("sbom-format-unknown", str(exc), "format") from None
    found = subject(packages, namespace, name, version)
    content = release_sbom(
        packages, state.settings.base_url, found.package, found.version, __version__
    )
    body = emit(content, chosen.name, found.version.published_at)
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    headers = {"ETag": etag, "Cache-Control": "public, max-age=300", "Vary": "Accept-Encoding"}
    if etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=chosen.media_type, headers=headers)
