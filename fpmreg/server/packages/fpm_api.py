"""The fpm-compatible API: exactly what fpm 0.12+ reads and sends.

See `docs/api-design.md` ("fpm API") for every quirk honoured here: integer `code`,
no `null`, no `\\u` escapes, no redirects, `//packages` tolerated, `1.0` finds `1.0.0`.
"""

from __future__ import annotations

import math
import re
from collections import OrderedDict
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.types import ASGIApp, Receive, Scope, Send

from fpmreg.core.checks import UploadForm
from fpmreg.core.fpmjson import dumps_fpm
from fpmreg.core.names import canonical_name
from fpmreg.core.wire.errors import FpmMessage
from fpmreg.core.wire.fpm import FpmLatestDocument, FpmSearchResults, FpmVersionDocument
from fpmreg.server.accounts.deps import AccountsDep
from fpmreg.server.errors import DomainError, InvalidInput, NotFound
from fpmreg.server.http import AppState, StateDep, fpm_response
from fpmreg.server.openapi import binary, fpm_errors, multipart_body
from fpmreg.server.packages.advisory_hook import AdvisoryHook, fpm_with_advisories
from fpmreg.server.packages.deps import (
    DownloadListenerDep,
    PackagesDep,
    authorize_publisher,
    packages_wiring,
)
from fpmreg.server.packages.models import Version
from fpmreg.server.packages.schemas import (
    NAMESPACE_DOC,
    PAGE_DOC,
    QUERY_DOC,
    NamePath,
    NamespacePath,
    TarballPath,
    VersionPath,
    api_package_summary,
    check_search,
    fpm_package_document,
)
from fpmreg.server.packages.service import SEARCH_PAGE_SIZE, PackagesService
from fpmreg.server.packages.tarballs import read_small, stored_info, tarball_response

router = APIRouter(include_in_schema=True, tags=["fpm"])
# fpm sends five fields; a few spare for `dry_run` and future ones.
MAX_FORM_FIELDS = 10


def _json_bytes(body: bytes) -> Response:
    return Response(body, media_type="application/json")


def _json(document: dict[str, object]) -> Response:
    return _json_bytes(dumps_fpm(document))


def fpm_metadata(
    state: AppState,
    namespace: str,
    name: str,
    version: str | None,
    advisories: AdvisoryHook | None = None,
) -> bytes:
    """The fpm document for the latest (`version=None`) or an exact version."""
    with state.database.session() as session:
        packages = PackagesService(
            session, state.clock, state.store, base_url=state.settings.base_url
        )
        # A quarantined package answers fpm's envelope with code 403 and a message
        # saying it is under review (fpm prints `message`, docs/fpm-protocol.md §1.2); a
        # deleted version or package answers 410 naming its tombstone.
        package = packages.available_package(namespace, name)
        versions = packages.versions(package)
        if version is None:
            chosen = next((v for v in versions if not v.yanked), None)
            if chosen is None:
                raise NotFound(
                    "no-installable-version",
                    f"package `{package.namespace.name}/{package.name}` has no installable "
                    "version (all are yanked): pin an exact version with `v`",
                )
        else:
            chosen = packages.get_version(package, version)
        document = fpm_package_document(
            state.settings, package, versions, chosen, latest=version is None
        )
        if advisories is not None:
            document = fpm_with_advisories(document, advisories, session, package.id)
        return dumps_fpm(document)


# Bounds each process's cache; a registry has far fewer hot package URLs than this.
MAX_CACHED_DOCUMENTS = 20_000
_METADATA_PATH = re.compile(r"^/packages/([^/]+)/([^/]+)(?:/([^/]+))?$")
_JSON_HEADERS = [(b"content-type", b"application/json")]


class FpmMetadataCache:
    """Serves `GET /packages/{ns}/{name}[/{version}]` from a per-process cache.

    The hottest URL of the registry: every unpinned fpm build asks it. Entries are
    tagged with the database's change sequence (`fpmreg.server.changes`), read before
    the data, so an answer is never older than the last change committed on any host.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._cache: dict[tuple[str, str, str], tuple[int, bytes]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        match = _METADATA_PATH.match(scope["path"]) if scope["type"] == "http" else None
        state: AppState | None = scope["app"].state.fpmreg if match else None
        if match is None or state is None or scope["method"] not in ("GET", "HEAD"):
            await self.app(scope, receive, send)
            return
        namespace, name, version = match.group(1), match.group(2), match.group(3)
        key = (canonical_name(namespace), canonical_name(name), version or "")
        stamp = -1
        if state.settings.metadata_cache:
            stamp = await state.changes.current()
        cached = self._cache.get(key)
        if cached is not None and cached[0] == stamp and stamp >= 0:
            body = cached[1]
        else:
            try:
                hook = packages_wiring(scope["app"]).advisories
                body = await run_in_threadpool(fpm_metadata, state, namespace, name, version, hook)
            except DomainError as error:
                await fpm_response(error.status, error.detail)(scope, receive, send)
                return
            if stamp >= 0:
                if len(self._cache) >= MAX_CACHED_DOCUMENTS:
                    self._cache.clear()
                self._cache[key] = (stamp, body)
        headers = [*_JSON_HEADERS, (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send(
            {"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else body}
        )


@router.get(
    "/packages/{namespace}/{name}",
    summary="Latest version, as fpm resolves it",
    response_model=FpmLatestDocument,
    responses=fpm_errors(400, 403, 404, 410),
)
def get_latest(namespace: NamespacePath, name: NamePath, state: StateDep) -> Response:
    """`latest_version_data` is the newest version that is not yanked.

    (Served by `FpmMetadataCache`; this route documents it and answers if it is off.)"""
    return _json_bytes(fpm_metadata(state, namespace, name, None))


@router.get(
    "/packages/{namespace}/{name}/{version}",
    summary="One version, as fpm pins it",
    response_model=FpmVersionDocument,
    responses=fpm_errors(400, 403, 404, 410),
)
def get_version(
    namespace: NamespacePath, name: NamePath, version: VersionPath, state: StateDep
) -> Response:
    """An exact version; `1.0` finds `1.0.0`; yanked versions are still served."""
    return _json_bytes(fpm_metadata(state, namespace, name, version))


_TARBALL_DOC: dict[str, Any] = {
    "response_class": Response,
    "responses": {
        **binary("application/gzip", "The tarball"),
        **fpm_errors(400, 403, 404, 410),
    },
}


@router.get("/tarballs/{namespace}/{name}/{filename}", summary="Download a tarball", **_TARBALL_DOC)
@router.head("/tarballs/{namespace}/{name}/{filename}", summary="Tarball headers", **_TARBALL_DOC)
def get_tarball(
    request: Request,
    namespace: NamespacePath,
    name: NamePath,
    filename: TarballPath,
    packages: PackagesDep,
    state: StateDep,
    downloads: DownloadListenerDep,
) -> Response:
    """The tarball bytes, straight (fpm's curl follows no redirect, sends no Accept-Encoding)."""
    if not filename.endswith(".tar.gz"):
        raise NotFound("tarball-not-found", f"no tarball `{filename}`: names end in `.tar.gz`")
    package = packages.available_package(namespace, name)  # quarantined: 403
    version = packages.get_version(package, filename.removesuffix(".tar.gz"))  # deleted: 410
    head = request.method == "HEAD"
    response = tarball_response(
        state.store, version.sha256, tarball_headers(package.name, version), head=head
    )
    downloads.record_id(version.id)  # counted once the whole body is sent (metrics domain)
    return response


def tarball_headers(package_name: str, version: Version) -> dict[str, str]:
    """What every tarball answer carries: its digest, immutability and a file name."""
    return {
        "ETag": f'"{version.sha256}"',
        "X-Checksum-Sha256": version.sha256,
        "Cache-Control": "public, max-age=31536000, immutable",
        "Content-Disposition": (f'attachment; filename="{package_name}-{version.version}.tar.gz"'),
    }


@router.get(
    "/packages",
    summary="Search, in the prototype registry's shape",
    response_model=FpmSearchResults,
    responses=fpm_errors(400),
)
def search(
    packages: PackagesDep,
    query: Annotated[str, QUERY_DOC] = "",
    page: Annotated[int, PAGE_DOC] = 1,
    namespace: Annotated[str, NAMESPACE_DOC] = "",
) -> Response:
    """`{code, packages: [...], total_pages}` as the fortran-lang prototype answers."""
    check_search(query, page, query_field="query")
    rows, total = packages.search(query, page=page, namespace=namespace)
    results = FpmSearchResults(
        code=200,
        packages=[api_package_summary(p) for p in rows],
        total_pages=max(1, math.ceil(total / SEARCH_PAGE_SIZE)),
    )
    return _json(results.model_dump())


@router.post(
    "/packages",
    summary="Publish, exactly as `fpm publish` uploads",
    response_model=FpmMessage,
    responses=fpm_errors(400, 401, 403, 404, 409, 410, 413, 429),
    openapi_extra=multipart_body(
        {
            "package_name": {"type": "string"},
            "package_license": {"type": "string"},
            "package_version": {"type": "string"},
            "tarball": {"type": "string", "format": "binary"},
            "upload_token": {"type": "string", "description": "an API token with `publish`"},
            "dry_run": {"type": "string", "enum": ["true", "false"]},
        },
        ["tarball", "upload_token"],
    ),
)
async def publish(
    request: Request, packages: PackagesDep, accounts: AccountsDep, state: StateDep
) -> Response:
    """Multipart fields `package_name`, `package_license`, `package_version`, `tarball`,
    `upload_token`, optional `dry_run=true`. The tarball's own fpm.toml is the truth.

    fpm sends `upload_token` after the tarball, so the body is received (spooled) either
    way; the archive is decompressed and scanned only once the token is accepted."""
    form = await request.form(max_files=1, max_fields=MAX_FORM_FIELDS)
    try:
        tarball = form.get("tarball")
        if not isinstance(tarball, UploadFile):
            raise InvalidInput("tarball-missing", "the form has no `tarball` file field", "tarball")
        fields = {k: v for k, v in form.items() if isinstance(v, str)}
        grant = await authorize_publisher(accounts, state, fields.get("upload_token", ""))
        result = await run_in_threadpool(
            packages.publish_as,
            grant,
            tarball.file,
            form=UploadForm(
                fields.get("package_name", ""),
                fields.get("package_version", ""),
                fields.get("package_license", ""),
            ),
            dry_run=fields.get("dry_run", "").lower() == "true",
        )
    finally:
        await form.close()
    where = f"{result.namespace}/{result.name}@{result.version}"
    if result.dry_run:
        message = f"Dry run successful: {where} passed every check and was not stored."
    else:
        message = f"Package Uploaded Successfully: {where} (sha256 {result.sha256})."
    if result.warnings:
        message += " Warnings: " + " ".join(f"[{p.code}] {p.message}." for p in result.warnings)
    return fpm_response(200, message)


_TARBALL_PATH = re.compile(r"^/tarballs/([^/]+)/([^/]+)/([^/]+)\.tar\.gz$")
# Tarballs are immutable and Fortran packages small: each process keeps the hottest
# ones in memory, up to this many bytes in all, and never any larger than the second.
MAX_CACHED_TARBALLS_BYTES = 64 * 1024 * 1024
MAX_CACHED_TARBALL_BYTES = 1024 * 1024


@dataclass(frozen=True, slots=True)
class _CachedTarball:
    stamp: int
    version_id: int
    body: bytes
    headers: list[tuple[bytes, bytes]]


def _load_tarball(
    state: AppState, stamp: int, namespace: str, name: str, version: str
) -> _CachedTarball:
    with state.database.session() as session:
        packages = PackagesService(
            session, state.clock, state.store, base_url=state.settings.base_url
        )
        package = packages.available_package(namespace, name)
        row = packages.get_version(package, version)
        info = stored_info(state.store, row.sha256)
        small = info.size <= MAX_CACHED_TARBALL_BYTES
        body = read_small(state.store, row.sha256) if small else b""
        headers = [
            (b"content-type", b"application/gzip"),
            (b"content-length", str(len(body)).encode()),
            *(
                (key.lower().encode(), value.encode())
                for key, value in tarball_headers(package.name, row).items()
            ),
        ]
        return _CachedTarball(stamp, row.id, body, headers)


class TarballCache:
    """Serves small tarballs from memory, without routing or a thread hop per request.

    Sits inside the download counter, so a download served here is counted exactly as
    one served by `get_tarball`. Entries are checked against the change sequence like
    `FpmMetadataCache`, so a deleted version stops being served at once. Large tarballs,
    range requests and errors go to the regular route."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._cache: OrderedDict[tuple[str, str, str], _CachedTarball] = OrderedDict()
        self._bytes = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        match = _TARBALL_PATH.match(scope["path"]) if scope["type"] == "http" else None
        if (
            match is None
            or scope["method"] not in ("GET", "HEAD")
            or any(k == b"range" for k, _ in scope["headers"])
            or not scope["app"].state.fpmreg.settings.metadata_cache
        ):
            await self.app(scope, receive, send)
            return
        state: AppState = scope["app"].state.fpmreg
        key = (canonical_name(match.group(1)), canonical_name(match.group(2)), match.group(3))
        stamp = await state.changes.current()  # before the data, as above
        entry = self._cache.get(key)
        if entry is None or entry.stamp != stamp:
            try:
                entry = await run_in_threadpool(_load_tarball, state, stamp, *match.groups())
            except DomainError:
                await self.app(scope, receive, send)  # the route answers with its envelope
                return
            if not entry.body:
                await self.app(scope, receive, send)  # too big to keep: streamed by the route
                return
            self._remember(key, entry)
        else:
            self._cache.move_to_end(key)
        if scope["method"] == "GET":
            packages_wiring(scope["app"]).downloads.record_id(entry.version_id)
        await send({"type": "http.response.start", "status": 200, "headers": entry.headers})
        body = b"" if scope["method"] == "HEAD" else entry.body
        await send({"type": "http.response.body", "body": body})

    def _remember(self, key: tuple[str, str, str], entry: _CachedTarball) -> None:
        old = self._cache.pop(key, None)
        if old is not None:
            self._bytes -= len(old.body)
        self._cache[key] = entry
        self._bytes += len(entry.body)
        while self._bytes > MAX_CACHED_TARBALLS_BYTES:
            _, evicted = self._cache.popitem(last=False)
            self._bytes -= len(evicted.body)
