"""`GET /dumps/`: the daily metadata dumps, their index and their bytes (docs/dumps.md,
"Fetching"). Errors are the JSON API's envelope (`http.API_PREFIX`)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response, StreamingResponse

from fpmreg.core import dump
from fpmreg.server.accounts.deps import CurrentUser
from fpmreg.server.http import StateDep, render
from fpmreg.server.linked.dumps import GZIP_TYPE, DumpStore, dump_key, missing

router = APIRouter(prefix="/dumps", include_in_schema=False)
# A dated dump never changes once written (a `--replace` is the operator's choice,
# docs/dumps.md): caches may keep it a year. The listing and `latest` follow each day.
DATED_CACHE = "public, max-age=31536000, immutable"
LISTING_CACHE = "public, max-age=300"


def _dumps(state: StateDep) -> DumpStore:
    return DumpStore(state.store, state.settings.base_url)


def _wants_json(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


@router.get("/")
def listing(request: Request, state: StateDep, user: CurrentUser) -> Response:
    """The dumps kept, newest first, with their size, sha256 and the licence: an HTML
    page, or the index document for `Accept: application/json`."""
    dumps = _dumps(state)
    entries = dumps.entries()
    headers = {"Cache-Control": LISTING_CACHE, "Vary": "Accept"}
    if _wants_json(request):
        return Response(dumps.index_json(entries), media_type="application/json", headers=headers)
    document = dump.index_document(state.settings.base_url, entries)
    context = {"user": user, "dumps": document["dumps"], "keep": state.settings.dump_keep,
               "license": dump.LICENSE, "license_url": dump.LICENSE_URL}  # fmt: skip
    response = render(request, "dumps.html", context)
    response.headers.update(headers)
    return response


@router.get("/index.json")
def index(state: StateDep) -> Response:
    """The index document: each dump's date, URL, size, sha256, and the licence."""
    dumps = _dumps(state)
    return Response(
        dumps.index_json(dumps.entries()),
        media_type="application/json",
        headers={"Cache-Control": LISTING_CACHE},
    )


@router.get("/latest.jsonl.gz")
def latest(state: StateDep) -> Response:
    """A redirect to the newest dump (so its bytes keep their long-cached URL)."""
    entries = _dumps(state).entries()
    if not entries:
        raise missing("latest.jsonl.gz")
    return RedirectResponse(
        f"/dumps/{entries[0].file}", status_code=302, headers={"Cache-Control": LISTING_CACHE}
    )


@router.get("/{file}")
def dump_file(file: str, request: Request, state: StateDep) -> Response:
    """A dump's bytes as `application/gzip` (a file, not a `Content-Encoding`: what is
    saved is the `.jsonl.gz` the index's sha256 is of)."""
    dumps = _dumps(state)
    if dump.date_of(file) is None:  # the strict name pattern: nothing else reaches storage
        raise missing(file)
    entry = dumps.entry(file)
    etag = f'"{entry.sha256}"'
    headers = {
        "ETag": etag,
        "Cache-Control": DATED_CACHE,
        "Content-Disposition": f'attachment; filename="{entry.file}"',
    }
    if etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    stored = state.store.open_named(dump_key(entry.file))
    if stored is None:  # listed, but pruned since the index was read
        raise missing(file)
    headers["Content-Length"] = str(stored.info.size)
    return StreamingResponse(iter(stored), media_type=GZIP_TYPE, headers=headers)
