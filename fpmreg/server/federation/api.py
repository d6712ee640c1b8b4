"""The transparency log over HTTP (docs/transparency-log.md, "Serving the log").

`/log/` is the C2SP tlog-tiles prefix: `checkpoint`, `tile/<L>/<N>[.p/<W>]` and
`tile/entries/<N>[.p/<W>]`, plus the note verifier key at `/log/key` and the signing keys
at `/log/keys`. Tiles never change once served, so they are cacheable for ever; the
checkpoint moves with every append. `/api/v1/log/...` answers JSON for clients that want
one entry with its proof in one request.
"""

from __future__ import annotations

import base64
import json
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import PlainTextResponse, Response
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from fpmreg.core.tlog.tiles import TilePathError, parse_tile_path
from fpmreg.core.tlog.witness import MAX_BODY_BYTES, WitnessError, parse_submission
from fpmreg.core.wire.log import (
    LogEntryList,
    LogEntryProof,
    LogLookup,
    LogLookupAnswer,
    PublicKey,
    PublicKeys,
)
from fpmreg.server.errors import InvalidInput
from fpmreg.server.federation.deps import FederationDep
from fpmreg.server.federation.log import TransparencyLog
from fpmreg.server.federation.models import LogEntry
from fpmreg.server.federation.witness import add_checkpoint, mirrored_logs, served_checkpoint
from fpmreg.server.http import SessionDep, StateDep
from fpmreg.server.openapi import api_errors, binary

router = APIRouter(tags=["transparency log"])

LOG_PATH_INVALID = "log-path-invalid"
IMMUTABLE = "public, max-age=31536000, immutable"
# A checkpoint is fresh for a few seconds: a CDN may hold it that long (docs/operating.md).
CHECKPOINT_MAX_AGE = "public, max-age=5"
MAX_SUBJECT = 300
# What may follow `/log/tile/`: a level 0-63 or `entries`, the index in 3-digit groups
# (`x` before all but the last), and a partial width 1-255 (docs/transparency-log.md).
TILE_PATH = (
    r"^(?:[0-9]|[1-5][0-9]|6[0-3]|entries)/(?:x[0-9]{3}/)*[0-9]{3}"
    r"(?:\.p/(?:[1-9][0-9]?|1[0-9]{2}|2[0-4][0-9]|25[0-5]))?$"
)


@router.get(
    "/log/checkpoint", summary="The log's signed checkpoint", response_class=PlainTextResponse
)
def checkpoint(session: SessionDep, federation: FederationDep) -> PlainTextResponse:
    text = served_checkpoint(session, federation.keys)
    return PlainTextResponse(text, headers={"Cache-Control": CHECKPOINT_MAX_AGE})


@router.get("/log/key", summary="The log's note verifier key", response_class=PlainTextResponse)
def note_key(federation: FederationDep) -> PlainTextResponse:
    return PlainTextResponse(federation.keys.verifier.encode() + "\n")


@router.get("/log/keys", summary="The registry's signing keys", response_model=PublicKeys)
def keys(federation: FederationDep) -> PublicKeys:
    wiring = federation.keys
    return PublicKeys(
        origin=wiring.origin,
        note_key=wiring.verifier.encode(),
        keys=[
            PublicKey(
                id=f"{wiring.registry}/log/keys#{key}",
                type="Multikey",
                controller=wiring.registry,
                public_key_multibase=key,
                current=i == 0,
            )
            for i, key in enumerate(wiring.multikeys())
        ],
    )


@router.get(
    "/log/tile/{path:path}",
    summary="A hash tile or an entry bundle",
    response_class=Response,
    responses={
        **binary("application/octet-stream", "The tile's hashes or the bundle's entries"),
        **api_errors(400, 404),
    },
)
def tile(
    path: Annotated[str, Path(max_length=64, pattern=TILE_PATH)], session: SessionDep
) -> Response:
    try:
        wanted = parse_tile_path("tile/" + path)
    except TilePathError as exc:
        raise InvalidInput(LOG_PATH_INVALID, str(exc)) from None
    log = TransparencyLog(session)
    data = log.bundle(wanted) if wanted.is_entries else log.tile(wanted)
    return Response(
        data, media_type="application/octet-stream", headers={"Cache-Control": IMMUTABLE}
    )


@router.get(
    "/api/v1/log/entries/{index}",
    summary="One log entry with its inclusion proof",
    response_model=LogEntryProof,
    responses=api_errors(404),
)
def entry(
    index: Annotated[int, Path(ge=0, le=2**53)],
    session: SessionDep,
    federation: FederationDep,
) -> LogEntryProof:
    log = TransparencyLog(session)
    found = log.entry(index)
    size = log.size()
    return LogEntryProof(
        index=index,
        record=json.loads(found.body),
        tree_size=size,
        proof=[base64.b64encode(h).decode() for h in log.proof(index, size)],
        checkpoint=log.checkpoint(federation.keys.signer, size),
    )


@router.get(
    "/api/v1/log/entries",
    summary="The log entries about one package URL",
    response_model=LogEntryList,
    responses=api_errors(400),
)
def entries(
    subject: Annotated[
        str,
        Query(
            description="a package URL, e.g. `pkg:fpm/ns/name@1.0.0` or `pkg:fpm/ns/name`",
            max_length=MAX_SUBJECT,
        ),
    ],
    session: SessionDep,
) -> LogEntryList:
    if not _could_be_logged(subject):
        return LogEntryList(subject=subject, indexes=[])
    indexes = session.scalars(
        select(LogEntry.index).where(LogEntry.subject == subject).order_by(LogEntry.index)
    )
    return LogEntryList(subject=subject, indexes=list(indexes))


def _could_be_logged(subject: str) -> bool:
    """Whether a record can have `subject`: not too long, and no NUL, which PostgreSQL
    refuses in text (a query with one would fail rather than find nothing)."""
    return len(subject) <= MAX_SUBJECT and "\x00" not in subject


@router.get(
    "/log/witness/key",
    summary="The cosignature key this registry witnesses other logs with",
    response_class=PlainTextResponse,
)
def witness_key(federation: FederationDep) -> PlainTextResponse:
    return PlainTextResponse(federation.keys.witness_signer.verifier.encode() + "\n")


@router.post("/log/witness/add-checkpoint", include_in_schema=False)  # C2SP tlog-witness
async def add_checkpoint_route(
    request: Request, session: SessionDep, federation: FederationDep, state: StateDep
) -> Response:
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > MAX_BODY_BYTES:
        return PlainTextResponse("the body is too large\n", status_code=400)
    body = await request.body()

    def witness() -> str:  # off the event loop: it waits for the database's write lock
        submission = parse_submission(body)
        logs = {**mirrored_logs(session), **federation.witnessed}  # docs/mirrors.md
        return add_checkpoint(session, federation.keys, logs, submission, state.clock.now())

    try:
        line = await run_in_threadpool(witness)
    except WitnessError as exc:
        session.rollback()
        if exc.size is not None:
            return Response(f"{exc.size}\n", status_code=409, media_type="text/x.tlog.size")
        return PlainTextResponse(f"{exc.message}\n", status_code=exc.status)
    return PlainTextResponse(line)


@router.post(
    "/api/v1/log/lookup",
    summary="The log entries about many package URLs at once",
    response_model=LogLookupAnswer,
    responses=api_errors(400, 422),
)
def lookup(body: LogLookup, session: SessionDep) -> LogLookupAnswer:
    wanted = {s for s in body.subjects if _could_be_logged(s)}
    found: dict[str, list[int]] = {s: [] for s in body.subjects}
    releases: dict[str, int] = {}
    rows = session.execute(
        select(LogEntry.subject, LogEntry.index, LogEntry.action)
        .where(LogEntry.subject.in_(wanted))
        .order_by(LogEntry.index)
    )
    for subject, index, action in rows:
        found[subject].append(index)
        if action == "version.publish":
            releases[subject] = index  # the newest, as rows come oldest first
    return LogLookupAnswer(entries=found, releases=releases)
