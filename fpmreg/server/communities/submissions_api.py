"""Submissions on `/api/v1`: an audit for a community on another registry, sent as an
ActivityPub `Offer`, and the answer that came back (docs/communities.md, "Audits from
other registries")."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Path

from fpmreg.core.wire import MAX_ROW_ID
from fpmreg.core.wire.communities import SubmissionList, SubmissionRecord, SubmissionRequest
from fpmreg.server.accounts.deps import AccountsDep
from fpmreg.server.communities.api import require_user
from fpmreg.server.communities.remote_models import AuditSubmission
from fpmreg.server.communities.submissions import SubmissionsService, submission_body
from fpmreg.server.federation.deps import FederationDep
from fpmreg.server.http import SessionDep, StateDep
from fpmreg.server.moderation.api import Credentials
from fpmreg.server.openapi import api_errors
from fpmreg.server.packages.deps import PackagesDep

router = APIRouter(prefix="/api/v1", tags=["communities"])

SubmissionId = Annotated[int, Path(description="a submission's number", ge=1, le=MAX_ROW_ID)]


def _service(
    session: SessionDep, state: StateDep, packages: PackagesDep, federation: FederationDep
) -> SubmissionsService:
    return SubmissionsService(session, state.clock, packages, federation.keys,
                              allow_private=state.settings.federation_allow_private)  # fmt: skip


def _wire(row: AuditSubmission) -> SubmissionRecord:
    return SubmissionRecord(
        id=row.id,
        community=row.community,
        offer_id=row.offer_id,
        status=row.status,
        reason=row.reason,
        result=row.result,
        submitted_at=row.created_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        decided_at=row.decided_at.strftime("%Y-%m-%dT%H:%M:%SZ") if row.decided_at else "",
        body=submission_body(row),
    )


@router.post(
    "/submissions",
    summary="Offer an audit to a community on another registry",
    response_model=SubmissionRecord,
    status_code=202,
    responses=api_errors(400, 401, 403, 404, 410, 422),
)
def submit(
    request_body: Annotated[SubmissionRequest, Body()],
    session: SessionDep,
    state: StateDep,
    packages: PackagesDep,
    federation: FederationDep,
    accounts: AccountsDep,
    credentials: Credentials,
) -> SubmissionRecord:
    """The registry binds the audit to its tarballs' sha256 and sends it, signed for your
    actor, to the community's inbox; it is `pending` until the community answers."""
    user = require_user(accounts, credentials)
    svc = _service(session, state, packages, federation)
    return _wire(svc.submit(user, request_body))


@router.get(
    "/submissions",
    summary="Your submissions",
    response_model=SubmissionList,
    responses=api_errors(401, 403),
)
def list_submissions(
    session: SessionDep,
    state: StateDep,
    packages: PackagesDep,
    federation: FederationDep,
    accounts: AccountsDep,
    credentials: Credentials,
) -> SubmissionList:
    """Newest first, at most 200."""
    user = require_user(accounts, credentials)
    svc = _service(session, state, packages, federation)
    return SubmissionList(submissions=[_wire(r) for r in svc.listed(user)])


@router.get(
    "/submissions/{submission_id}",
    summary="One submission",
    response_model=SubmissionRecord,
    responses=api_errors(401, 403, 404),
)
def get_submission(
    submission_id: SubmissionId,
    session: SessionDep,
    state: StateDep,
    packages: PackagesDep,
    federation: FederationDep,
    accounts: AccountsDep,
    credentials: Credentials,
) -> SubmissionRecord:
    """Pending, accepted (with the audit's URI on the community) or rejected (with why)."""
    user = require_user(accounts, credentials)
    svc = _service(session, state, packages, federation)
    return _wire(svc.get(user, submission_id))
