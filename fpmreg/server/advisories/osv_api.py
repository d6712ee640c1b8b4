"""The OSV API as osv.dev defines it (https://google.github.io/osv.dev/api/), at `/v1`.

`POST /v1/query`, `POST /v1/querybatch` and `GET /v1/vulns/{id}` answer in osv.dev's
shapes, with its paging (`page_token` in, `next_page_token` out) and its error answers
(`{"code": 3, "message": ...}`, the gRPC status code, with a 4xx HTTP status). Bodies
are parsed here rather than by FastAPI, so every malformed query gets that shape.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from fpmreg.core.advisory import FPM_ECOSYSTEM
from fpmreg.core.wire.advisories import OsvBatchResponse, OsvQueryResult, OsvRecord
from fpmreg.server.advisories.lookup import Hit, hits_by_package
from fpmreg.server.advisories.queries import get_published, lookup_name, records
from fpmreg.server.advisories.service import record_of
from fpmreg.server.http import SessionDep
from fpmreg.server.openapi import fpm_errors

router = APIRouter(prefix="/v1", tags=["osv"])

# osv.dev's limit on one batch.
MAX_BATCH_QUERIES = 1000
# Vulnerabilities per query in one answer; more come with a `next_page_token`
# (osv.dev pages at 1,000 too). Module constants so tests can make pages small.
QUERY_PAGE_SIZE = 1000
BATCH_PAGE_SIZE = 1000
# A body larger than this is not a query (1,000 queries of a few hundred bytes each).
MAX_BODY_BYTES = 2 * 1024 * 1024
# No package name or version is longer; NUL bytes are refused (PostgreSQL cannot hold them).
MAX_FIELD_LENGTH = 1000
# gRPC status codes, which osv.dev's JSON errors carry as `code`.
INVALID_ARGUMENT = 3
NOT_FOUND = 5
_QUERY_KEYS = frozenset({"package", "version", "commit", "page_token"})
_PACKAGE_KEYS = frozenset({"name", "ecosystem", "purl"})
# purl types (https://github.com/package-url/purl-spec) and the OSV ecosystem of each.
PURL_ECOSYSTEMS = {
    "fpm": FPM_ECOSYSTEM,
    "pypi": "PyPI",
    "npm": "npm",
    "cargo": "crates.io",
    "golang": "Go",
    "maven": "Maven",
    "gem": "RubyGems",
    "nuget": "NuGet",
    "composer": "Packagist",
    "hex": "Hex",
    "pub": "Pub",
}


class OsvError(Exception):
    """A query osv.dev would refuse; answered as `{"code", "message"}`."""

    def __init__(self, message: str, code: int = INVALID_ARGUMENT, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status

    def response(self) -> JSONResponse:
        """osv.dev's error body."""
        return JSONResponse({"code": self.code, "message": self.message}, status_code=self.status)


@dataclass(frozen=True)
class Query:
    """One parsed query: a package (ecosystem and name), an optional version, an offset."""

    ecosystem: str
    name: str
    version: str | None
    offset: int


def _token(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"o": offset}).encode()).decode().rstrip("=")


def _offset(token: Any) -> int:
    if token in (None, ""):
        return 0
    if not isinstance(token, str) or len(token) > 64:
        raise OsvError("Invalid page token: pass back a `next_page_token` unchanged.")
    try:
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        offset = data["o"]
    except (ValueError, binascii.Error, KeyError, TypeError) as exc:
        raise OsvError("Invalid page token: pass back a `next_page_token` unchanged.") from exc
    if not isinstance(offset, int) or offset < 0:
        raise OsvError("Invalid page token: pass back a `next_page_token` unchanged.")
    return offset


def _from_purl(purl: str) -> tuple[str, str, str | None]:
    """(ecosystem, name, version) of a package URL such as `pkg:pypi/jinja2@2.4.1`."""
    if not purl.startswith("pkg:") or "/" not in purl:
        raise OsvError(f"Invalid Package URL `{purl}`: write one such as `pkg:pypi/jinja2@2.4.1`.")
    body = purl[4:].split("#", 1)[0].split("?", 1)[0]
    kind, _, rest = body.partition("/")
    ecosystem = PURL_ECOSYSTEMS.get(kind.lower())
    if ecosystem is None:
        raise OsvError(f"Unknown PURL ecosystem `{kind}`.")
    name, at, version = rest.rpartition("@") if "@" in rest else (rest, "", "")
    name = unquote(name)
    if kind.lower() == "maven":
        name = name.replace("/", ":")
    return ecosystem, name, unquote(version) if at else None


def parse_query(raw: Any) -> Query:
    """A query object, checked as osv.dev checks it."""
    if not isinstance(raw, dict):
        raise OsvError("A query must be a JSON object.")
    unknown = sorted(set(raw) - _QUERY_KEYS)
    if unknown:
        raise OsvError(f"Unknown field `{unknown[0]}` in the query.")
    if raw.get("commit") not in (None, ""):
        raise OsvError(
            "Commit queries are not supported: this registry has no git data. "
            "Query by `package` and `version` instead."
        )
    version = raw.get("version")
    if version is not None and not isinstance(version, str):
        raise OsvError("`version` must be a string.")
    package = raw.get("package")
    if not isinstance(package, dict) or not package:
        raise OsvError("Invalid query: give a `package` (`name` and `ecosystem`, or `purl`).")
    if set(package) - _PACKAGE_KEYS:
        raise OsvError(f"Unknown field `{sorted(set(package) - _PACKAGE_KEYS)[0]}` in `package`.")
    if any(not isinstance(v, str) for v in package.values()):
        raise OsvError("`package` fields must be strings.")
    if any("\x00" in v or len(v) > MAX_FIELD_LENGTH for v in package.values()) or (
        version is not None and ("\x00" in version or len(version) > MAX_FIELD_LENGTH)
    ):
        raise OsvError(f"Query fields must be text of at most {MAX_FIELD_LENGTH} characters.")
    purl = package.get("purl", "")
    if purl:
        if package.get("name") or package.get("ecosystem"):
            raise OsvError("`name` and `ecosystem` cannot be given with a `purl`.")
        ecosystem, name, purl_version = _from_purl(purl)
        if purl_version is not None and version:
            raise OsvError("The version was given both in the `purl` and in `version`.")
        version = version or purl_version
    else:
        name, ecosystem = package.get("name", ""), package.get("ecosystem", "")
        if not name:
            raise OsvError("Invalid query: `package.name` is missing.")
        if not ecosystem:
            raise OsvError("Invalid query: `package.ecosystem` is missing.")
    return Query(ecosystem, name, version or None, _offset(raw.get("page_token")))


def _json(body: bytes) -> Any:
    if len(body) > MAX_BODY_BYTES:
        raise OsvError(f"The request is larger than {MAX_BODY_BYTES} bytes.")
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise OsvError(f"The body is not valid JSON: {exc}.") from exc


def answer(session: Session, queries: list[Query]) -> list[list[Hit]]:
    """The matching advisories of each query, all of them (before paging)."""
    found = hits_by_package(session, [(q.ecosystem, q.name) for q in queries])
    out = []
    for q in queries:
        key = (q.ecosystem, lookup_name(q.ecosystem, q.name))
        out.append([h for h in found.get(key, []) if h.affects(key, q.version)])
    return out


def _page(rows: list[Hit], offset: int, size: int) -> tuple[list[Hit], str]:
    page = rows[offset : offset + size]
    more = offset + size < len(rows)
    return page, _token(offset + size) if more else ""


_PACKAGE_SCHEMA = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "ecosystem": {"type": "string", "examples": ["fpm", "PyPI"]},
        "purl": {"type": "string", "examples": ["pkg:pypi/jinja2@2.4.1"]},
    },
}
_QUERY_SCHEMA = {
    "type": "object",
    "properties": {
        "package": _PACKAGE_SCHEMA,
        "version": {"type": "string"},
        "commit": {"type": "string", "description": "refused: the registry has no git data"},
        "page_token": {"type": "string"},
    },
}


def _body_doc(schema: dict[str, Any]) -> dict[str, Any]:
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


# osv.dev's errors have fpm's `{"code", "message"}` shape; `code` is the gRPC status
# (3 invalid argument, 5 not found).
@router.post(
    "/query",
    summary="Vulnerabilities of one package version (osv.dev's shape)",
    response_model=OsvQueryResult,
    responses=fpm_errors(400),
    openapi_extra=_body_doc(_QUERY_SCHEMA),
)
async def query(request: Request, session: SessionDep) -> Response:
    """`{"package": {"name", "ecosystem"} | {"purl"}, "version"}` → `{"vulns": [...]}`;
    `{}` when nothing matches, as osv.dev answers."""
    body = await request.body()
    return await run_in_threadpool(_query, session, body)


def _query(session: Session, raw: bytes) -> Response:
    try:
        parsed = parse_query(_json(raw))
    except OsvError as error:
        return error.response()
    rows = answer(session, [parsed])[0]
    page, token = _page(rows, parsed.offset, QUERY_PAGE_SIZE)
    body: dict[str, Any] = {}
    if page:
        body["vulns"] = records(session, [h.osv_id for h in page])
    if token:
        body["next_page_token"] = token
    return JSONResponse(body)


@router.post(
    "/querybatch",
    summary="Ids of the vulnerabilities of many queries",
    response_model=OsvBatchResponse,
    responses=fpm_errors(400),
    openapi_extra=_body_doc(
        {
            "type": "object",
            "properties": {"queries": {"type": "array", "items": _QUERY_SCHEMA, "maxItems": 1000}},
            "required": ["queries"],
        }
    ),
)
async def querybatch(request: Request, session: SessionDep) -> Response:
    """`{"queries": [...]}` → `{"results": [{"vulns": [{"id", "modified"}]}]}`, one result
    per query in order; a result with more carries `next_page_token`: send that query
    again with it as `page_token`."""
    body = await request.body()
    return await run_in_threadpool(_querybatch, session, body)


def _querybatch(session: Session, body: bytes) -> Response:
    try:
        raw = _json(body)
        if not isinstance(raw, dict) or set(raw) - {"queries"}:
            raise OsvError('The body must be `{"queries": [...]}`.')
        items = raw.get("queries")
        if not isinstance(items, list):
            raise OsvError("`queries` must be a list of queries.")
        if len(items) > MAX_BATCH_QUERIES:
            raise OsvError(f"Too many queries: at most {MAX_BATCH_QUERIES} in one batch.")
        parsed = []
        for i, item in enumerate(items):
            try:
                parsed.append(parse_query(item))
            except OsvError as error:
                raise OsvError(f"Query {i}: {error.message}") from error
    except OsvError as error:
        return error.response()
    results = []
    for q, rows in zip(parsed, answer(session, parsed), strict=True):
        page, token = _page(rows, q.offset, BATCH_PAGE_SIZE)
        result: dict[str, Any] = {}
        if page:
            result["vulns"] = [{"id": h.osv_id, "modified": h.modified} for h in page]
        if token:
            result["next_page_token"] = token
        results.append(result)
    return JSONResponse({"results": results})


def _plain(text: str) -> bool:
    return "\x00" not in text and len(text) <= MAX_FIELD_LENGTH


@router.get(
    "/vulns/{osv_id}",
    summary="One vulnerability record",
    response_model=OsvRecord,
    responses=fpm_errors(404),
)
def get_vuln(osv_id: str, session: SessionDep) -> Response:
    """The whole OSV record of a published advisory (withdrawn ones too, marked so)."""
    advisory = get_published(session, osv_id) if _plain(osv_id) else None
    if advisory is None:
        return OsvError("Bug not found.", NOT_FOUND, 404).response()
    return JSONResponse(record_of(advisory))
