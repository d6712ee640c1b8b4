"""Audits on `/api/v1`: submit, list, vet and revoke; and each audit's document at its
URI (docs/communities.md, "Audits")."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Body, Path, Query
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from fpmreg.core.wire import MAX_ROW_ID
from fpmreg.core.wire.communities import (
    AUDIT_STATUSES,
    AuditDecision,
    AuditList,
    AuditRecord,
    AuditRequest,
)
from fpmreg.server.accounts.deps import AccountsDep
from fpmreg.server.accounts.models import User
from fpmreg.server.communities.api import CommunityPath, log_indexes, require_user, service
from fpmreg.server.communities.audits import AuditsService
from fpmreg.server.communities.models import AuditApproval, Community, CommunityAudit
from fpmreg.server.communities.remote_audits import after_decision, after_revoke, remote_auditors
from fpmreg.server.http import SessionDep, StateDep
from fpmreg.server.moderation.api import Credentials
from fpmreg.server.openapi import api_errors
from fpmreg.server.packages.deps import PackagesDep

router = APIRouter(prefix="/api/v1", tags=["communities"])
documents_router = APIRouter(include_in_schema=False)

AuditId = Annotated[int, Path(description="an audit's number", ge=1, le=MAX_ROW_ID)]
_STATUS = "^(" + "|".join(AUDIT_STATUSES) + ")?$"


def audits(session: SessionDep, state: StateDep, packages: PackagesDep) -> AuditsService:
    """The request's audits service."""
    return AuditsService(session, state.clock, service(session, state), packages)


def approvals_of(session: Session, audit_ids: list[int]) -> dict[int, list[str]]:
    """The reviewers who accepted each of `audit_ids` so far, in one query."""
    if not audit_ids:
        return {}
    rows = session.execute(
        select(AuditApproval.audit_id, User.username)
        .join(User, User.id == AuditApproval.reviewer_id)
        .where(AuditApproval.audit_id.in_(audit_ids))
        .order_by(AuditApproval.approved_at, User.username)
    ).all()
    found: dict[int, list[str]] = {}
    for audit_id, username in rows:
        found.setdefault(audit_id, []).append(username)
    return found


def audits_wire(
    svc: AuditsService, community: Community, rows: list[CommunityAudit]
) -> list[AuditRecord]:
    """The API shape of audits; `log_index` is the entry of each one's acceptance (or, once
    revoked, its revocation). Their auditors and log entries are read in one query each."""
    uris = [svc.uri(community, audit) for audit in rows]
    indexes = log_indexes(svc.session, uris)
    ids = {a.auditor_id for a in rows if a.auditor_id is not None}
    names = dict(svc.session.execute(select(User.id, User.username).where(User.id.in_(ids))).all())
    remote = remote_auditors(svc.session, [a.id for a in rows])
    approvals = approvals_of(svc.session, [a.id for a in rows if a.status == "submitted"])
    return [
        AuditRecord(
            id=audit.id,
            uri=uri,
            community=community.name,
            auditor=remote.get(audit.id) or names.get(audit.auditor_id or 0, "(deleted account)"),
            remote_auditor=remote.get(audit.id, ""),
            status=audit.status,
            reason=audit.reason,
            sha256=audit.sha256,
            submitted_at=audit.submitted_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            decided_at=audit.decided_at.strftime("%Y-%m-%dT%H:%M:%SZ") if audit.decided_at else "",
            log_index=indexes.get(uri),
            approvals=approvals.get(audit.id, []),
            body=json.loads(audit.body),
        )
        for audit, uri in zip(rows, uris, strict=True)
    ]


def audit_wire(svc: AuditsService, community: Community, audit: CommunityAudit) -> AuditRecord:
    """The API shape of one audit."""
    return audits_wire(svc, community, [audit])[0]


@router.post(
    "/communities/{community}/audits",
    summary="Submit an audit",
    response_model=AuditRecord,
    status_code=201,
    responses=api_errors(400, 401, 403, 404, 410, 422),
)
def submit_audit(
    community: CommunityPath,
    request_body: Annotated[AuditRequest, Body()],
    session: SessionDep,
    state: StateDep,
    packages: PackagesDep,
    accounts: AccountsDep,
    credentials: Credentials,
) -> AuditRecord:
    """Any user may audit a release (or the diff between two) against the community's
    criteria; it counts once a reviewer accepts it."""
    user = require_user(accounts, credentials)
    svc = audits(session, state, packages)
    row = svc.communities.get(community)
    return audit_wire(svc, row, svc.submit(user, row, request_body))


@router.get(
    "/communities/{community}/audits",
    summary="A community's audits",
    response_model=AuditList,
    responses=api_errors(404, 422),
)
def list_audits(
    community: CommunityPath,
    session: SessionDep,
    state: StateDep,
    packages: PackagesDep,
    status: Annotated[str, Query(max_length=16, pattern=_STATUS)] = "",
    package: Annotated[str, Query(max_length=128, description="`namespace/name`")] = "",
) -> AuditList:
    """Newest first (at most 200): the queue is `status=submitted`, what counts
    `status=accepted`."""
    svc = audits(session, state, packages)
    row = svc.communities.get(community)
    found = svc.listed(row, status=status, package=package)
    return AuditList(audits=audits_wire(svc, row, found))


@router.get(
    "/communities/{community}/audits/{audit_id}",
    summary="One audit",
    response_model=AuditRecord,
    responses=api_errors(404),
)
def get_audit(
    community: CommunityPath,
    audit_id: AuditId,
    session: SessionDep,
    state: StateDep,
    packages: PackagesDep,
) -> AuditRecord:
    """The audit, its state, and the reason of a rejection or revocation."""
    svc = audits(session, state, packages)
    row = svc.communities.get(community)
    return audit_wire(svc, row, svc.get(row, audit_id))


@router.post(
    "/communities/{community}/audits/{audit_id}/decision",
    summary="Accept or reject an audit",
    response_model=AuditRecord,
    responses=api_errors(400, 401, 403, 404, 409, 422),
)
def decide_audit(
    community: CommunityPath,
    audit_id: AuditId,
    request_body: Annotated[AuditDecision, Body()],
    session: SessionDep,
    state: StateDep,
    packages: PackagesDep,
    accounts: AccountsDep,
    credentials: Credentials,
) -> AuditRecord:
    """Reviewers and founders, never on their own audit; a rejection says why."""
    user = require_user(accounts, credentials)
    svc = audits(session, state, packages)
    row = svc.communities.get(community)
    audit = svc.get(row, audit_id)
    svc.decide(user, row, audit, request_body)
    if audit.status != "submitted":  # decided, not one approval short of the quorum
        after_decision(session, svc, row, audit)  # docs/communities.md, "Audits from other …"
    return audit_wire(svc, row, audit)


@router.post(
    "/communities/{community}/audits/{audit_id}/revoke",
    summary="Revoke an audit",
    response_model=AuditRecord,
    responses=api_errors(400, 401, 403, 404, 409, 422),
)
def revoke_audit(
    community: CommunityPath,
    audit_id: AuditId,
    request_body: Annotated[AuditDecision, Body()],
    session: SessionDep,
    state: StateDep,
    packages: PackagesDep,
    accounts: AccountsDep,
    credentials: Credentials,
) -> AuditRecord:
    """Its auditor or a founder; `reason` is required and public. The audit stays, revoked."""
    user = require_user(accounts, credentials)
    svc = audits(session, state, packages)
    row = svc.communities.get(community)
    audit = svc.get(row, audit_id)
    was_accepted = audit.status == "accepted"
    svc.revoke(user, row, audit, request_body.reason)
    after_revoke(session, svc, row, audit, was_accepted=was_accepted)
    return audit_wire(svc, row, audit)


@documents_router.get("/c/{community}/audits/{audit_id}")
def audit_document(
    community: CommunityPath,
    audit_id: AuditId,
    session: SessionDep,
    state: StateDep,
    packages: PackagesDep,
) -> Response:
    """The audit's document: exactly the bytes whose sha256 its log entries sign."""
    svc = audits(session, state, packages)
    audit = svc.get(svc.communities.get(community), audit_id)
    return Response(audit.body.encode("utf-8"), media_type="application/json",
                    headers={"Cache-Control": "public, max-age=60"})  # fmt: skip
