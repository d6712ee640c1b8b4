"""The OpenAPI document: error answers per status, the bearer scheme, the docs page.

Every operation lists every status it can answer with, each with its envelope model
(`fpmreg.core.wire.errors`), so schemathesis can check status codes, content types and
bodies against it (`docs/api-design.md`, "Fuzzing").
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse
from fastapi.security import HTTPBearer

from fpmreg.core.wire.errors import ErrorEnvelope, FpmMessage

# Token-taking operations declare this scheme; handlers still read the header themselves.
BEARER = HTTPBearer(
    auto_error=False,
    scheme_name="bearer",
    bearerFormat="fpmreg_…",
    description="An API token made on `/account` (`Authorization: Bearer fpmreg_…`).",
)

_WHY = {
    304: "Not modified since the `ETag` sent in `If-None-Match`; no body",
    400: "Malformed input; every problem is listed",
    401: "No token, or it is invalid, expired or revoked",
    403: "The token lacks the scope, or is for another namespace or package",
    404: "No such thing",
    409: "Conflicts with what exists: a version already published, a name taken",
    410: "Deleted for good: the message names the tombstone page",
    413: "The request body is over the upload limit",
    422: "The request does not have the documented shape",
    429: "Too many requests of this kind; see `Retry-After`",
}
ResponsesDoc = dict[int | str, dict[str, Any]]
_ENVELOPE_REF = {"$ref": "#/components/schemas/ErrorEnvelope"}
_FPM_REF = {"$ref": "#/components/schemas/FpmMessage"}


def api_errors(*statuses: int) -> ResponsesDoc:
    """`responses=` entries for JSON API errors: the `{"errors": [...]}` envelope."""
    return {status: {"model": ErrorEnvelope, "description": _WHY[status]} for status in statuses}


def fpm_errors(*statuses: int) -> ResponsesDoc:
    """`responses=` entries for fpm-route errors: fpm's `{"code", "message"}` envelope."""
    return {status: {"model": FpmMessage, "description": _WHY[status]} for status in statuses}


def not_modified() -> ResponsesDoc:
    """The `304` of a conditional `GET`."""
    return {304: {"description": _WHY[304]}}


def binary(media_type: str, description: str) -> ResponsesDoc:
    """A `200` whose body is a file of `media_type` (a tarball, a CSV)."""
    schema = (
        {"type": "string"}
        if media_type.startswith("text/")
        else {
            "type": "string",
            "format": "binary",
        }
    )
    return {200: {"description": description, "content": {media_type: {"schema": schema}}}}


def multipart_body(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    """`openapi_extra` describing a multipart form a handler parses itself."""
    return {
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {"type": "object", "properties": properties, "required": required}
                }
            },
        }
    }


def openapi_document(app: FastAPI) -> dict[str, Any]:
    """The document FastAPI builds, with its automatic `422` fixed: on `/api/` it is our
    envelope (`http.validation_error_handler`), and the fpm routes answer 400 instead."""
    if app.openapi_schema is None:
        document = get_openapi(
            title=app.title,
            version=app.version,
            summary=app.summary,
            description=app.description,
            routes=app.routes,
        )
        for path, operations in document["paths"].items():
            for operation in operations.values():
                _document_gone(path, operation)
                if not path.startswith(("/api/", "/log/", "/credentials/")):
                    operation["responses"].pop("422", None)
                elif "application/json" in operation["responses"].get("422", {}).get(
                    "content", {}
                ):  # FastAPI's validation answer, not a protocol's own 422
                    operation["responses"]["422"] = {
                        "description": _WHY[422],
                        "content": {"application/json": {"schema": _ENVELOPE_REF}},
                    }
        schemas = document.get("components", {}).get("schemas", {})
        for unused in ("HTTPValidationError", "ValidationError"):  # replaced by the envelope
            schemas.pop(unused, None)
        app.openapi_schema = document
    return app.openapi_schema


def _document_gone(path: str, operation: dict[str, Any]) -> None:
    """Every operation on a package answers 410 once the package (or the version) was
    deleted (docs/moderation.md, "Deletion and tombstones"): say so where it is missing."""
    if "/{namespace}/{name}" not in path or "410" in operation["responses"]:
        return
    envelope = _ENVELOPE_REF if path.startswith("/api/") else _FPM_REF
    operation["responses"]["410"] = {
        "description": _WHY[410],
        "content": {"application/json": {"schema": envelope}},
    }


# The docs page: Swagger UI from this package (fpmreg/server/static/swagger/), started
# by a same-origin script, so it works offline under a CSP without `unsafe-inline`.
DOCS_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
)
_DOCS_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>fpmreg API</title>
<link rel="stylesheet" href="/static/swagger/swagger-ui.css">
</head>
<body>
<div id="swagger-ui" data-openapi-url="{openapi_url}"></div>
<script src="/static/swagger/swagger-ui-bundle.js"></script>
<script src="/static/swagger/init.js"></script>
</body>
</html>
"""

docs_router = APIRouter(include_in_schema=False)


@docs_router.get("/api/docs")
def api_docs() -> HTMLResponse:
    """Swagger UI over `/api/openapi.json`, every asset served by the registry itself."""
    return HTMLResponse(
        _DOCS_PAGE.format(openapi_url="/api/openapi.json"),
        headers={"Content-Security-Policy": DOCS_CSP, "X-Frame-Options": "DENY"},
    )
