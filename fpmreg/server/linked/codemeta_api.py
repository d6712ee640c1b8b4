"""`GET /api/v1/packages/{namespace}/{name}/codemeta.json`: a release's CodeMeta 3.0
document, served as `application/ld+json` (docs/linked-data.md, "CodeMeta")."""

from __future__ import annotations

import hashlib
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response

from fpmreg.core.versions import MAX_VERSION_LENGTH
from fpmreg.core.wire.linked import CodeMetaDocument
from fpmreg.server.http import StateDep
from fpmreg.server.linked.badges_facts import subject
from fpmreg.server.linked.codemeta import codemeta_document
from fpmreg.server.openapi import api_errors, not_modified
from fpmreg.server.packages.deps import PackagesDep
from fpmreg.server.packages.schemas import VERSION_PATTERN, NamePath, NamespacePath


class LinkedDataResponse(JSONResponse):
    """A JSON-LD body (a JSON response class, so the OpenAPI document shows its model)."""

    media_type = "application/ld+json"


def json_errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """`api_errors`, said to be `application/json` (the route's own type is JSON-LD)."""
    envelope = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorEnvelope"}}}
    return {
        status: {"description": doc["description"], "content": envelope}
        for status, doc in api_errors(*statuses).items()
    }


VersionQuery = Annotated[
    str,
    Query(
        description="`X.Y.Z`; by default the newest version that is not yanked",
        json_schema_extra={"pattern": f"^({VERSION_PATTERN})?$", "maxLength": MAX_VERSION_LENGTH},
    ),
]

router = APIRouter(prefix="/api/v1", tags=["packages"])


@router.get(
    "/packages/{namespace}/{name}/codemeta.json",
    summary="CodeMeta 3.0 of a release",
    response_model=CodeMetaDocument,
    response_class=LinkedDataResponse,
    responses={**not_modified(), **json_errors(400, 404, 410, 422)},
)
def codemeta(
    namespace: NamespacePath, name: NamePath, request: Request, packages: PackagesDep,
    state: StateDep, version: VersionQuery = "",
) -> Response:  # fmt: skip
    """The release as CodeMeta 3.0 JSON-LD: name, version, licences as spdx.org URLs,
    repository, authors, dependencies. `If-None-Match` with the `ETag` gives 304."""
    found = subject(packages, namespace, name, version)
    document = codemeta_document(state.settings.base_url, found.package, found.version)
    body = (
        CodeMetaDocument.model_validate(document)
        .model_dump_json(by_alias=True, exclude_defaults=True)
        .encode()
    )
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    headers = {"ETag": etag, "Cache-Control": "public, max-age=300"}
    if etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=LinkedDataResponse.media_type, headers=headers)
