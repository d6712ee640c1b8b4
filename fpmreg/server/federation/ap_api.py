"""ActivityPub over HTTP: WebFinger, NodeInfo 2.1, the actors, their collections and
inboxes (docs/activitypub.md). Protocol routes: outside the OpenAPI document."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import func, or_, select, true
from starlette.concurrency import run_in_threadpool

from fpmreg import __version__
from fpmreg.core.wire import MAX_ROW_ID
from fpmreg.server.accounts.models import User
from fpmreg.server.errors import (
    InvalidInput,
    NotFound,
    RateLimited,
    TooLarge,
    Unauthenticated,
)
from fpmreg.server.federation.actors import (
    AP_PREFIX,
    Actor,
    actor_document,
    find_actor,
    host_of,
    webfinger_actors,
)
from fpmreg.server.federation.announce import announce_activity, record_activity
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
AP_RATE_LIMITED = "ap-rate-limited"
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


def _outbox_filter(actor: Actor) -> Any:
    """Which log entries an actor's outbox lists: a package's, a namespace's packages',
    or (the instance) all of them; None for actors that publish nothing."""
    if actor.type == "Application":
        purl = "pkg:fpm/" + actor.name
        return or_(LogEntry.subject == purl,
                   LogEntry.subject.startswith(purl + "@", autoescape=True))  # fmt: skip
    if actor.type == "Group":
        return LogEntry.subject.startswith(f"pkg:fpm/{actor.name}/", autoescape=True)
    if actor.type == "Service":
        return true()
    return None


def _outbox(
    session: SessionDep, base: str, actor: Actor, page: str, before: int | None
) -> dict[str, Any]:
    """The outbox: an `OrderedCollection` with `first`, and its pages of at most
    `OUTBOX_ITEMS` activities, newest first, each page's `next` the older ones."""
    outbox = f"{base}{actor.path}/outbox"
    where = _outbox_filter(actor)
    if where is None:
        return _collection(outbox, [], 0)
    if not page and before is None:
        total = session.scalar(select(func.count()).select_from(LogEntry).where(where)) or 0
        return {"@context": "https://www.w3.org/ns/activitystreams", "id": outbox,
                "type": "OrderedCollection", "totalItems": total,
                "first": f"{outbox}?page=true"}  # fmt: skip
    query = select(LogEntry).where(where)
    if before is not None:
        query = query.where(LogEntry.index < before)
    rows = list(session.scalars(query.order_by(LogEntry.index.desc()).limit(OUTBOX_ITEMS + 1)))
    items = []
    for row in rows[:OUTBOX_ITEMS]:
        activity = record_activity(base, row.index, json.loads(row.body))
        if actor.type == "Group":
            activity = announce_activity(base, actor.path, activity)
        items.append(activity)
    this = f"{outbox}?before={before}" if before is not None else f"{outbox}?page=true"
    document: dict[str, Any] = {"@context": "https://www.w3.org/ns/activitystreams",
                                "id": this, "type": "OrderedCollectionPage", "partOf": outbox,
                                "orderedItems": items}  # fmt: skip
    if len(rows) > OUTBOX_ITEMS:
        document["next"] = f"{outbox}?before={rows[OUTBOX_ITEMS - 1].index}"
    return document


def _release(session: SessionDep, base: str, path: str) -> Response:
    """A release (`/ap/packages/NS/NAME/versions/V`): the object of its latest record, a
    `Document`, or its `Tombstone` (410) once it is deleted."""
    package_path, _, version = path.rpartition("/versions/")
    actor = find_actor(session, package_path)
    row = None
    if actor is not None and actor.type == "Application" and "\x00" not in version:
        row = session.scalar(
            select(LogEntry)
            .where(LogEntry.subject == f"pkg:fpm/{actor.name}@{version}")
            .order_by(LogEntry.index.desc())
            .limit(1)
        )
    if row is None:
        raise NotFound(AP_NOT_FOUND, f"there is no release at `{path}`")
    thing = record_activity(base, row.index, json.loads(row.body))["object"]
    thing["@context"] = "https://www.w3.org/ns/activitystreams"
    return _activity_json(thing, 410 if thing["type"] == "Tombstone" else 200)


@router.get(AP_PREFIX + "/{path:path}")
def actor_get(
    path: str,
    session: SessionDep,
    federation: FederationDep,
    page: Annotated[str, Query(max_length=8)] = "",
    before: Annotated[int | None, Query(ge=0, le=MAX_ROW_ID)] = None,
) -> Response:
    base = federation.keys.registry
    full = f"{AP_PREFIX}/{path}".rstrip("/")
    head, _, tail = full.rpartition("/")
    if head.endswith("/versions") and full.startswith(f"{AP_PREFIX}/packages/"):
        return _release(session, base, full)
    if tail in ("outbox", "followers", "following"):
        actor = _actor_or_404(session, head)
        if tail == "outbox":
            return _activity_json(_outbox(session, base, actor, page, before))
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
        signer = check_signature(session, federation.keys, inbound, now, allow_private=allow,
                                 stale_ok=activity["type"] == "Delete")  # fmt: skip
        return receive(session, federation.keys, activity, signer, now, allow_private=allow,
                       reports=federation.reports, offers=federation.offers)  # fmt: skip

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
    if exc.status == 429:
        return RateLimited(AP_RATE_LIMITED, str(exc), retry_after=600)
    return InvalidInput(AP_BAD_REQUEST, str(exc))
