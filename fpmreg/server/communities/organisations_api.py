"""Organisations on `/api/v1`, their actor and page at `/orgs/{org}`, and each
endorsement's document at its URI (docs/organisations.md).

Reading is public; changing takes a `manage` token, and the service checks that its user
is an admin. `/orgs/{org}` answers ActivityPub clients (`Accept: application/activity+json`
or `application/ld+json`) with the `Organization` actor, built by the same code as the
registry's other actors, and browsers with the page.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Request
from fastapi.responses import HTMLResponse, Response

from fpmreg.core.wire import MAX_ROW_ID
from fpmreg.core.wire.communities import SLUG_PATTERN
from fpmreg.core.wire.organisations import (
    EndorsementRecord,
    EndorsementRequest,
    Organisation,
    OrganisationList,
    OrganisationRequest,
    OrgMember,
    OrgMemberRequest,
    RevokeRequest,
)
from fpmreg.server.accounts.deps import AccountsDep, CurrentUser
from fpmreg.server.communities.api import log_indexes, require_user
from fpmreg.server.communities.org_models import Endorsement
from fpmreg.server.communities.org_models import Organisation as OrgRow
from fpmreg.server.communities.organisations import (
    OrganisationsService,
    endorsement_body,
    stamp,
)
from fpmreg.server.federation.actors import AP_PREFIX, Actor, actor_document
from fpmreg.server.federation.deps import FederationDep
from fpmreg.server.http import SessionDep, StateDep, render
from fpmreg.server.moderation.api import Credentials
from fpmreg.server.openapi import api_errors

router = APIRouter(prefix="/api/v1", tags=["organisations"])
documents_router = APIRouter(include_in_schema=False)

ACTIVITY_JSON = "application/activity+json"
OrgPath = Annotated[
    str, Path(description="an organisation", examples=["acme"], pattern=SLUG_PATTERN)
]
EndorsementId = Annotated[int, Path(description="an endorsement's number", ge=1, le=MAX_ROW_ID)]


def service(session: SessionDep, state: StateDep) -> OrganisationsService:
    """The request's organisations service."""
    return OrganisationsService(session, state.clock, state.settings.base_url)


def endorsements_wire(
    svc: OrganisationsService, org: OrgRow, rows: list[Endorsement]
) -> list[EndorsementRecord]:
    """The API shape of endorsements, each with its newest log entry (the revocation's,
    once revoked)."""
    uris = [svc.endorsement_uri(org, row) for row in rows]
    indexes = log_indexes(svc.session, uris)
    return [
        EndorsementRecord(
            id=row.id,
            uri=uri,
            organisation=org.name,
            kind=row.kind,
            subject=row.subject,
            sha256=row.sha256,
            log_index=indexes.get(uri),
            created_at=stamp(row.created_at),
            revoked_at=stamp(row.revoked_at) if row.revoked_at else "",
            revoke_reason=row.revoke_reason,
            body=endorsement_body(row),
        )
        for row, uri in zip(rows, uris, strict=True)
    ]


def organisation_wire(svc: OrganisationsService, org: OrgRow) -> Organisation:
    """The API shape of an organisation."""
    members = [
        OrgMember(username=u.username, role=m.role, since=stamp(m.since))
        for u, m in svc.members(org)
    ]
    return Organisation(
        name=org.name,
        uri=svc.uri(org),
        title=org.title,
        summary=org.summary,
        created_at=stamp(org.created_at),
        members=members,
        endorsements=endorsements_wire(svc, org, svc.endorsements(org)),
    )


@router.get("/organisations", summary="The organisations", response_model=OrganisationList)
def list_organisations(session: SessionDep, state: StateDep) -> OrganisationList:
    """Every organisation hosted here, by name."""
    svc = service(session, state)
    return OrganisationList(organisations=[organisation_wire(svc, o) for o in svc.all()])


@router.post(
    "/organisations",
    summary="Create an organisation",
    response_model=Organisation,
    status_code=201,
    responses=api_errors(400, 401, 403, 409, 422),
)
def create_organisation(
    request_body: Annotated[OrganisationRequest, Body()],
    session: SessionDep,
    state: StateDep,
    accounts: AccountsDep,
    credentials: Credentials,
) -> Organisation:
    """A new organisation; the token's user is its first admin."""
    user = require_user(accounts, credentials)
    svc = service(session, state)
    return organisation_wire(svc, svc.create(user, request_body))


@router.get(
    "/organisations/{org}",
    summary="An organisation",
    response_model=Organisation,
    responses=api_errors(404),
)
def get_organisation(org: OrgPath, session: SessionDep, state: StateDep) -> Organisation:
    """Its members and endorsements, revoked ones included."""
    svc = service(session, state)
    return organisation_wire(svc, svc.get(org))


@router.put(
    "/organisations/{org}/members",
    summary="Add a member or change a role",
    response_model=Organisation,
    responses=api_errors(400, 401, 403, 404, 409, 422),
)
def put_org_member(
    org: OrgPath,
    request_body: Annotated[OrgMemberRequest, Body()],
    session: SessionDep,
    state: StateDep,
    accounts: AccountsDep,
    credentials: Credentials,
) -> Organisation:
    """Admins only. The last admin cannot step down."""
    user = require_user(accounts, credentials)
    svc = service(session, state)
    row = svc.get(org)
    svc.set_member(user, row, request_body)
    return organisation_wire(svc, row)


@router.post(
    "/organisations/{org}/endorsements",
    summary="Endorse a community, an auditor or a policy",
    response_model=EndorsementRecord,
    status_code=201,
    responses=api_errors(400, 401, 403, 404, 409, 422),
)
def post_endorsement(
    org: OrgPath,
    request_body: Annotated[EndorsementRequest, Body()],
    session: SessionDep,
    state: StateDep,
    accounts: AccountsDep,
    credentials: Credentials,
) -> EndorsementRecord:
    """Admins only; its document is signed into the log as the request commits."""
    user = require_user(accounts, credentials)
    svc = service(session, state)
    row = svc.get(org)
    return endorsements_wire(svc, row, [svc.endorse(user, row, request_body)])[0]


@router.post(
    "/organisations/{org}/endorsements/{endorsement}/revoke",
    summary="Revoke an endorsement",
    response_model=EndorsementRecord,
    responses=api_errors(400, 401, 403, 404, 409, 422),
)
def revoke_endorsement(
    org: OrgPath,
    endorsement: EndorsementId,
    request_body: Annotated[RevokeRequest, Body()],
    session: SessionDep,
    state: StateDep,
    accounts: AccountsDep,
    credentials: Credentials,
) -> EndorsementRecord:
    """Admins only; it stays, as a logged tombstone with the public reason."""
    user = require_user(accounts, credentials)
    svc = service(session, state)
    row = svc.get(org)
    found = svc.endorsement(row, endorsement)
    svc.revoke(user, row, found, request_body.reason)
    return endorsements_wire(svc, row, [found])[0]


def _wants_activity(request: Request) -> bool:
    accept = request.headers.get("accept", "").lower()
    return ACTIVITY_JSON in accept or "application/ld+json" in accept


def organisation_actor(
    svc: OrganisationsService, org: OrgRow, fed: FederationDep
) -> dict[str, Any]:
    """The `Organization` actor (docs/activitypub.md, "Actors"). Its URI is the page's;
    it has no inbox of its own, so the shared inbox takes what is sent to it."""
    path = f"/orgs/{org.name}"
    document = actor_document(
        Actor("Organization", path, org.name, org.title, org.summary, path), fed.keys
    )
    document["inbox"] = f"{fed.keys.registry}{AP_PREFIX}/inbox"
    return document


@documents_router.get("/orgs/{org}", response_model=None)
def organisation_page(
    org: OrgPath,
    request: Request,
    session: SessionDep,
    state: StateDep,
    user: CurrentUser,
    federation: FederationDep,
) -> Response:
    """The organisation's actor for ActivityPub clients, its page for everyone else."""
    svc = service(session, state)
    row = svc.get(org)
    if _wants_activity(request):
        body = json.dumps(organisation_actor(svc, row, federation))
        return Response(body, media_type=ACTIVITY_JSON, headers={"Vary": "Accept"})
    context = {
        "user": user,
        "org": row,
        "uri": svc.uri(row),
        "members": svc.members(row),
        "endorsements": endorsements_wire(svc, row, svc.endorsements(row)),
        "role": svc.role_of(row, user),
    }
    page: HTMLResponse = render(request, "organisation.html", context)
    page.headers["Vary"] = "Accept"
    return page


@documents_router.get("/orgs/{org}/outbox")
def organisation_outbox(org: OrgPath, session: SessionDep, state: StateDep) -> Response:
    """Its endorsements as `Create` activities, a revoked one as a `Delete` of its
    `Tombstone`, newest first."""
    svc = service(session, state)
    row = svc.get(org)
    items = []
    for e in svc.endorsements(row):
        uri = svc.endorsement_uri(row, e)
        thing: dict[str, Any] = (
            {
                "id": uri,
                "type": "Tombstone",
                "formerType": "Endorsement",
                "deleted": stamp(e.revoked_at),
            }
            if e.revoked_at
            else endorsement_body(e)
        )
        items.append(
            {
                "id": f"{uri}#{'delete' if e.revoked_at else 'create'}",
                "type": "Delete" if e.revoked_at else "Create",
                "actor": svc.uri(row),
                "object": thing,
            }
        )
    return _collection(f"{svc.uri(row)}/outbox", items)


@documents_router.get("/orgs/{org}/followers")
def organisation_followers(org: OrgPath, session: SessionDep, state: StateDep) -> Response:
    """Nobody follows an organisation yet: an empty collection."""
    svc = service(session, state)
    return _collection(f"{svc.uri(svc.get(org))}/followers", [])


@documents_router.get("/orgs/{org}/following")
def organisation_following(org: OrgPath, session: SessionDep, state: StateDep) -> Response:
    """An organisation follows no one: an empty collection."""
    svc = service(session, state)
    return _collection(f"{svc.uri(svc.get(org))}/following", [])


def _collection(collection_id: str, items: list[Any]) -> Response:
    body = {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": collection_id,
        "type": "OrderedCollection",
        "totalItems": len(items),
        "orderedItems": items,
    }
    return Response(json.dumps(body), media_type=ACTIVITY_JSON)


@documents_router.get("/orgs/{org}/endorsements/{endorsement}")
def endorsement_document(
    org: OrgPath, endorsement: EndorsementId, session: SessionDep, state: StateDep
) -> Response:
    """The endorsement's JCS canonical bytes, whose sha256 its log entry signs; once
    revoked, 410 with the tombstone (the reason, and the digest of what it revoked)."""
    svc = service(session, state)
    row = svc.get(org)
    found = svc.endorsement(row, endorsement)
    if found.revoked_at is not None:
        tomb = {
            "id": svc.endorsement_uri(row, found),
            "type": "Tombstone",
            "formerType": "Endorsement",
            "deleted": stamp(found.revoked_at),
            "reason": found.revoke_reason,
            "sha256": found.sha256,
        }
        return Response(json.dumps(tomb), status_code=410, media_type="application/json")
    return Response(
        found.body.encode("utf-8"),
        media_type="application/json",
        headers={"Cache-Control": "public, max-age=60"},
    )


@documents_router.get("/orgs/")
def organisations_page(
    request: Request, session: SessionDep, state: StateDep, user: CurrentUser
) -> HTMLResponse:
    """Every organisation hosted here."""
    svc = service(session, state)
    rows = [(o, len(svc.members(o))) for o in svc.all()]
    return render(request, "organisations.html", {"user": user, "organisations": rows})
