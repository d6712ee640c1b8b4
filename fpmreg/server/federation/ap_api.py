"""ActivityPub over HTTP: WebFinger, NodeInfo 2.1, the actors, their collections and
inboxes (docs/activitypub.md). Protocol routes: outside the OpenAPI document."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import func, or_, select
from starlette.concurrency import run_in_threadpool

from fpmreg import __version__
from fpmreg.server.accounts.models import User
from fpmreg.server.errors import InvalidInput, NotFound, TooLarge, Unauthenticated
from fpmreg.server.federation.actors import (
    AP_PREFIX,
    Actor,
    actor_document,
    find_actor,
    host_of,
    webfinger_actors,
)
from fpmreg.server.federation.announce import create_activity
from fpmreg.server.federation.deps import FederationDep
from fpmreg.server.federation.inbox import (
    MAX_ACTIVITY_BYTES,
    Inbound,
    InboxError,
    check_signature,
    read_activity,
    receive,
)
from fpmreg.server.federation.models import Follower, LogEntry
from fpmreg.server.http import SessionDep, StateDep

router = APIRouter(include_in_schema=False)

ACTIVITY_JSON = "application/activity+json"
NODEINFO_SCHEMA = "http://nodeinfo.diaspora.software/ns/schema/2.1"
AP_NOT_FOUND = "ap-not-found"
AP_BAD_REQUEST = "ap-bad-request"
AP_SIGNATURE = "ap-signature-refused"
AP_TOO_LARGE = "ap-too-large"
OUTBOX_ITEMS = 100


def _activity_json(document: dict[str, Any], status: int = 200) -> Response:
    return Response(json.dumps(document), status_code=status, media_type=ACTIVITY_JSON)


@router.get("/.well-known/webfinger")
def webfinger(
    session: SessionDep,
    federation: FederationDep,
    resource: Annotated[str, Query(max_length=300)] = "",
) -> Response:
    if not resource:
        raise InvalidInput(AP_BAD_REQUEST, "give `resource=acct:NAME@HOST`")
    base = federation.keys.registry
    actors = webfinger_actors(session, resource, host_of(base))
    if not actors:
        raise NotFound(AP_NOT_FOUND, f"no actor is `{resource}` on this registry")
    links = [
        {
            "rel": "self",
            "type": ACTIVITY_JSON,
            "href": base + a.path,
            "properties": {"https://www.w3.org/ns/activitystreams#type": a.type},
        }
        for a in actors
    ]
    links.append({"rel": "http://webfinger.net/rel/profile-page", "type": "text/html",
                  "href": base + actors[0].page})  # fmt: skip
    body = {"subject": resource, "aliases": [base + a.path for a in actors], "links": links}
    return Response(json.dumps(body), media_type="application/jrd+json")


@router.get("/.well-known/nodeinfo")
def nodeinfo_links(federation: FederationDep) -> JSONResponse:
    href = f"{federation.keys.registry}/nodeinfo/2.1"
    return JSONResponse({"links": [{"rel": NODEINFO_SCHEMA, "href": href}]})


@router.get("/nodeinfo/2.1")
def nodeinfo(session: SessionDep, state: StateDep) -> Response:
    users = session.scalar(select(func.count(User.id)).where(User.deleted_at.is_(None))) or 0
    body = {
        "version": "2.1",
        "software": {
            "name": "fpmreg",
            "version": __version__,
            "homepage": "https://github.com/fortran-lang/fpm",
        },
        "protocols": ["activitypub"],
        "services": {"inbound": [], "outbound": []},
        "openRegistrations": state.settings.signup_enabled,
        "usage": {"users": {"total": users}},
        "metadata": {"nodeName": "fpmreg", "ecosystem": "fpm"},
    }
    media = f'application/json; profile="{NODEINFO_SCHEMA}#"'
    return Response(json.dumps(body), media_type=media)


def _actor_or_404(session: SessionDep, path: str) -> Actor:
    actor = find_actor(session, path)
    if actor is None:
        raise NotFound(AP_NOT_FOUND, f"there is no actor at `{path}`")
    return actor


def _collection(collection_id: str, items: list[Any], total: int) -> dict[str, Any]:
    return {"@context": "https://www.w3.org/ns/activitystreams", "id": collection_id,
            "type": "OrderedCollection", "totalItems": total, "orderedItems": items}  # fmt: skip


def _outbox(session: SessionDep, base: str, actor: Actor) -> dict[str, Any]:
    """A package's releases and state changes as `Create` activities of their signed
    records, newest first; other actors publish nothing yet."""
    actor_id = base + actor.path
    if actor.type != "Application":
        return _collection(f"{actor_id}/outbox", [], 0)
    purl = "pkg:fpm/" + actor.name
    where = or_(LogEntry.subject == purl, LogEntry.subject.startswith(purl + "@", autoescape=True))
    total = session.scalar(select(func.count()).select_from(LogEntry).where(where)) or 0
    rows = session.scalars(
        select(LogEntry).where(where).order_by(LogEntry.index.desc()).limit(OUTBOX_ITEMS)
    )
    items = [
        create_activity(base, actor.path, row.index, row.action, row.subject, json.loads(row.body))
        for row in rows
    ]
    return _collection(f"{actor_id}/outbox", items, total)


@router.get(AP_PREFIX + "/{path:path}")
def actor_get(path: str, session: SessionDep, federation: FederationDep) -> Response:
    base = federation.keys.registry
    full = f"{AP_PREFIX}/{path}".rstrip("/")
    head, _, tail = full.rpartition("/")
    if tail in ("outbox", "followers", "following"):
        actor = _actor_or_404(session, head)
        if tail == "outbox":
            return _activity_json(_outbox(session, base, actor))
        followers = (
            list(session.scalars(select(Follower.remote_actor).where(Follower.actor_path == head)))
            if tail == "followers" else []
        )  # fmt: skip
        return _activity_json(_collection(f"{base}{full}", followers, len(followers)))
    return _activity_json(actor_document(_actor_or_404(session, full), federation.keys))


@router.post(AP_PREFIX + "/{path:path}")
async def inbox_post(
    path: str, request: Request, session: SessionDep, federation: FederationDep, state: StateDep
) -> Response:
    full = f"{AP_PREFIX}/{path}".rstrip("/")
    if full != f"{AP_PREFIX}/inbox":
        if not full.endswith("/inbox"):
            raise NotFound(AP_NOT_FOUND, "POST only to an inbox")
        _actor_or_404(session, full.removesuffix("/inbox"))
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > MAX_ACTIVITY_BYTES:
        raise TooLarge(AP_TOO_LARGE, f"an activity is at most {MAX_ACTIVITY_BYTES} bytes")
    body = await request.body()
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    inbound = Inbound("POST", target, request.headers, body)
    allow = state.settings.federation_allow_private
    now = state.clock.now()

    def process() -> str:  # fetches remote keys: off the event loop, which must keep
        # answering, the sender may be fetching our own key to check our fetch
        activity = read_activity(body)
        signer = check_signature(session, federation.keys, inbound, now, allow_private=allow)
        return receive(session, federation.keys, activity, signer, now, allow_private=allow)

    try:
        outcome = await run_in_threadpool(process)
    except InboxError as exc:
        raise _refusal(exc) from None
    return JSONResponse({"outcome": outcome}, status_code=202)


def _refusal(exc: InboxError) -> Exception:
    if exc.status == 401:
        return Unauthenticated(AP_SIGNATURE, str(exc))
    if exc.status == 404:
        return NotFound(AP_NOT_FOUND, str(exc))
    if exc.status == 413:
        return TooLarge(AP_TOO_LARGE, str(exc))
    return InvalidInput(AP_BAD_REQUEST, str(exc))
