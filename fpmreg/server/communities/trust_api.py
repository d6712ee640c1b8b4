"""Trust statements and reviewer profiles of a community on `/api/v1`, each statement's
document at its URI, and the reviewer page (docs/organisations.md, "Trust statements",
"Reviewer profiles")."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Path, Request
from fastapi.responses import HTMLResponse, Response

from fpmreg.core.wire import MAX_ROW_ID
from fpmreg.core.wire.organisations import (
    AcceptedActor,
    ReviewerProfile,
    TrustList,
    TrustRecord,
    TrustRequest,
)
from fpmreg.server.accounts.deps import AccountsDep, CurrentUser
from fpmreg.server.communities.api import CommunityPath, log_indexes, require_user
from fpmreg.server.communities.api import service as communities
from fpmreg.server.communities.models import Community
from fpmreg.server.communities.organisations_api import service as organisations
from fpmreg.server.communities.reviewers import reviewer_profile, trust_record
from fpmreg.server.communities.trust import TrustService
from fpmreg.server.http import SessionDep, StateDep, render
from fpmreg.server.moderation.api import Credentials
from fpmreg.server.openapi import api_errors

router = APIRouter(prefix="/api/v1", tags=["communities"])
documents_router = APIRouter(include_in_schema=False)

StatementId = Annotated[int, Path(description="a trust statement's number", ge=1, le=MAX_ROW_ID)]
UsernamePath = Annotated[str, Path(description="a registry user", max_length=63)]


def trust_service(session: SessionDep, state: StateDep) -> TrustService:
    """The request's trust service."""
    return TrustService(session, state.clock, state.settings.base_url)


def trust_list(svc: TrustService, community: Community) -> TrustList:
    """The statements that count and who the metric accepts."""
    rows = svc.current(community)
    indexes = log_indexes(svc.session, [svc.statement_uri(community, r) for r in rows])
    result = svc.result(community)
    return TrustList(
        statements=[
            trust_record(svc, community, r, indexes.get(svc.statement_uri(community, r)))
            for r in rows
        ],
        accepted=[
            AcceptedActor(actor=a, distance=d, capacity=result.capacity[a])
            for a, d in result.distances().items()
        ],
    )


@router.put(
    "/communities/{community}/trust",
    summary="State trust in another actor",
    response_model=TrustRecord,
    responses=api_errors(400, 401, 403, 404, 422),
)
def put_trust(
    community: CommunityPath,
    request_body: Annotated[TrustRequest, Body()],
    session: SessionDep,
    state: StateDep,
    accounts: AccountsDep,
    credentials: Credentials,
) -> TrustRecord:
    """Members only. The last statement about a pair (and scope) counts; `none` withdraws
    trust. Signed into the log as the request commits."""
    user = require_user(accounts, credentials)
    row = communities(session, state).get(community)
    svc = trust_service(session, state)
    return trust_record(svc, row, svc.state(user, row, request_body))


@router.get(
    "/communities/{community}/trust",
    summary="Trust in a community",
    response_model=TrustList,
    responses=api_errors(404),
)
def get_trust(community: CommunityPath, session: SessionDep, state: StateDep) -> TrustList:
    """The statements that count, and the actors the trust metric accepts with their
    distance from the founders and their capacity."""
    row = communities(session, state).get(community)
    return trust_list(trust_service(session, state), row)


@router.get(
    "/communities/{community}/reviewers/{username}",
    summary="A reviewer's profile",
    response_model=ReviewerProfile,
    responses=api_errors(404),
)
def get_reviewer(
    community: CommunityPath, username: UsernamePath, session: SessionDep, state: StateDep
) -> ReviewerProfile:
    """Their track record in the community (with its score), the trust they receive and
    their organisations."""
    row = communities(session, state).get(community)
    return reviewer_profile(
        session, trust_service(session, state), organisations(session, state), row, username
    )


@documents_router.get("/c/{community}/trust/{statement}")
def trust_document(
    community: CommunityPath, statement: StatementId, session: SessionDep, state: StateDep
) -> Response:
    """The statement's JCS canonical bytes, whose sha256 its log entry signs."""
    row = communities(session, state).get(community)
    found = trust_service(session, state).get(row, statement)
    return Response(
        found.body.encode("utf-8"),
        media_type="application/json",
        headers={"Cache-Control": "public, max-age=60"},
    )


@documents_router.get("/c/{community}/reviewers/{username}")
def reviewer_page(
    community: CommunityPath,
    username: UsernamePath,
    request: Request,
    session: SessionDep,
    state: StateDep,
    user: CurrentUser,
) -> HTMLResponse:
    """A reviewer in the community: track record, trust, organisations."""
    row = communities(session, state).get(community)
    profile = reviewer_profile(
        session, trust_service(session, state), organisations(session, state), row, username
    )
    return render(request, "reviewer.html", {"user": user, "community": row, "profile": profile})
