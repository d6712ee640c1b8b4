"""The community's `Group` actor over HTTP (docs/activitypub.md, "Communities"): its
collections under `/ap/communities/NAME/` and its inbox, which takes `Follow`, `Undo` and
the `Offer` of an audit. The actor document itself is `/c/NAME`, asked for as
ActivityStreams (`pages.py` answers that request with `actor_response`). Protocol
routes: outside the OpenAPI document; before the federation domain's `/ap/{path}`."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from fpmreg.server.communities import group
from fpmreg.server.communities.api import CommunityPath
from fpmreg.server.communities.audits import AuditsService
from fpmreg.server.communities.audits_api import audits
from fpmreg.server.communities.models import Community
from fpmreg.server.communities.remote_audits import receive_offer
from fpmreg.server.errors import InvalidInput, NotFound, TooLarge, Unauthenticated
from fpmreg.server.federation.deps import FederationDep
from fpmreg.server.federation.inbox import (
    MAX_ACTIVITY_BYTES,
    Inbound,
    InboxError,
    check_signature,
    read_activity,
)
from fpmreg.server.federation.keys import RegistryKeys
from fpmreg.server.http import SessionDep, StateDep
from fpmreg.server.packages.deps import PackagesDep

router = APIRouter(include_in_schema=False)

ACTIVITY_JSON = "application/activity+json"
ACTIVITY_TYPES = ("application/activity+json", "application/ld+json")


def wants_activity(request: Request) -> bool:
    """Whether the request asks for ActivityStreams rather than the page."""
    accept = request.headers.get("accept", "").lower()
    return any(kind in accept for kind in ACTIVITY_TYPES)


def _json(document: dict[str, Any]) -> Response:
    return Response(json.dumps(document), media_type=ACTIVITY_JSON)


def actor_response(keys: RegistryKeys, svc: AuditsService, community: Community) -> Response:
    """The community's `Group` actor document."""
    return _json(group.group_document(keys, svc.communities, community))


def _collection(collection_id: str, items: list[Any]) -> dict[str, Any]:
    return {"@context": group.AS, "id": collection_id, "type": "OrderedCollection",
            "totalItems": len(items), "orderedItems": items}  # fmt: skip


def _audits(session: SessionDep, state: StateDep, packages: PackagesDep) -> AuditsService:
    return audits(session, state, packages)


@router.get(group.GROUP_PREFIX + "/{community}/{collection}")
def group_collection(
    community: CommunityPath,
    collection: str,
    session: SessionDep,
    state: StateDep,
    packages: PackagesDep,
    federation: FederationDep,
) -> Response:
    """The outbox (its `Announce`s and `Delete`s), followers, moderators, following."""
    svc = _audits(session, state, packages)
    row = svc.communities.get(community)
    uri, keys = svc.communities.uri(row), federation.keys
    here = f"{group.collections(keys, row)}/{collection}"
    if collection == "outbox":
        return _json(_collection(here, group.outbox_items(session, uri, row)))
    if collection == "followers":
        return _json(_collection(here, [f.remote_actor for f in group.followers(session, row)]))
    if collection == "moderators":
        return _json(_collection(here, group.moderators(keys, svc.communities, row)))
    if collection == "following":
        return _json(_collection(here, []))
    raise NotFound("ap-not-found", f"community `{row.name}` has no collection `{collection}`")


@router.post(group.GROUP_PREFIX + "/{community}/inbox")
async def group_inbox(
    community: CommunityPath,
    request: Request,
    session: SessionDep,
    state: StateDep,
    packages: PackagesDep,
    federation: FederationDep,
) -> Response:
    """A signed `Follow`, `Undo` or `Offer` of an audit; anything else is acknowledged.
    It reads the body itself, then does all its work in the thread pool: the database
    and remote fetches never wait on the event loop (docs/architecture.md)."""
    svc = _audits(session, state, packages)
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > MAX_ACTIVITY_BYTES:
        raise TooLarge("ap-too-large", f"an activity is at most {MAX_ACTIVITY_BYTES} bytes")
    body = await request.body()
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    inbound = Inbound("POST", target, request.headers, body)
    allow, now, keys = state.settings.federation_allow_private, state.clock.now(), federation.keys

    def process() -> str:  # fetches remote keys and actors: off the event loop
        row = svc.communities.get(community)
        activity = read_activity(body)
        signer = check_signature(session, keys, inbound, now, allow_private=allow)
        actor = activity.get("actor")
        if (actor.get("id") if isinstance(actor, dict) else actor) != signer:
            raise InboxError(401, "the activity's actor is not the owner of the signing key")
        uri, kind = svc.communities.uri(row), activity["type"]
        if kind == "Follow":
            return group.follow(session, keys, uri, row, activity, signer, now,
                                allow_private=allow)  # fmt: skip
        if kind == "Undo":
            return group.unfollow(session, row, activity, signer)
        if kind == "Offer":
            return receive_offer(session, keys, svc, row, activity, signer, now,
                                 allow_private=allow)  # fmt: skip
        return "accepted"

    try:
        outcome = await run_in_threadpool(process)
    except InboxError as exc:
        if exc.status == 401:
            raise Unauthenticated("ap-signature-refused", str(exc)) from None
        raise InvalidInput("ap-bad-request", str(exc)) from None
    return JSONResponse({"outcome": outcome}, status_code=202)
