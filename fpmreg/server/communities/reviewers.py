"""A reviewer's profile in one community: their track record as its reviewers decided
it, the trust they receive, and their organisations (docs/organisations.md, "Reviewer
profiles")."""

from __future__ import annotations

import json

from sqlalchemy import select
from sqlalchemy.orm import Session

from fpmreg.core.problem import ProblemsError
from fpmreg.core.vet.audits import Audit, Verdict, parse_audit
from fpmreg.core.vet.trust import TrackRecord, reviewer_score
from fpmreg.core.wire.organisations import ReviewerProfile, TrackRecordWire, TrustRecord
from fpmreg.server.accounts.models import User
from fpmreg.server.communities.models import Community, CommunityAudit, CommunityMember
from fpmreg.server.communities.org_models import TrustRow
from fpmreg.server.communities.organisations import OrganisationsService, stamp
from fpmreg.server.communities.trust import TrustService
from fpmreg.server.errors import NotFound
from fpmreg.server.events import Event


def trust_record(
    trust: TrustService, community: Community, row: TrustRow, log_index: int | None = None
) -> TrustRecord:
    """The API shape of a trust statement."""
    return TrustRecord(
        uri=trust.statement_uri(community, row),
        truster=row.truster,
        trustee=row.trustee,
        level=row.level,
        scope=row.scope,
        reason=row.reason,
        sha256=row.sha256,
        log_index=log_index,
        stated_at=stamp(row.stated_at),
    )


def _parsed(row: CommunityAudit) -> Audit | None:
    try:
        return parse_audit(json.loads(row.body))
    except ProblemsError:  # written by the registry: it always parses
        return None


def _contradicted_by_violation(audit: Audit, violations: list[Audit]) -> bool:
    """Whether an accepted violation of the same package, about one of the criteria the
    audit certified, covers the release it certified."""
    target = audit.target
    return target is not None and any(
        v.package.key == audit.package.key
        and v.violation is not None
        and v.violation.matches(target.version)
        and v.criteria & audit.criteria
        for v in violations
    )


def track_record(session: Session, community: Community, user: User) -> TrackRecord:
    """`user`'s audits in the community: accepted (revoked ones that had been accepted
    too), rejected, and contradicted: accepted, then revoked or covered by an accepted
    violation by someone else."""
    rows = list(
        session.scalars(select(CommunityAudit).where(CommunityAudit.community_id == community.id))
    )
    mine = [r for r in rows if r.auditor_id == user.id]
    subjects = [f"community:{community.name}/audits/{r.id}" for r in mine]
    once_accepted = set(
        session.scalars(
            select(Event.subject).where(
                Event.action == "community.audit-accept", Event.subject.in_(subjects)
            )
        )
    )
    violations = [
        a
        for r in rows
        if r.status == "accepted"
        and r.auditor_id != user.id
        and (a := _parsed(r)) is not None
        and a.verdict is Verdict.VIOLATION
    ]
    accepted = rejected = contradicted = 0
    for row, subject in zip(mine, subjects, strict=True):
        if row.status == "rejected":
            rejected += 1
            continue
        if row.status == "accepted" or (row.status == "revoked" and subject in once_accepted):
            accepted += 1
            audit = _parsed(row)
            if row.status == "revoked" or (
                audit is not None
                and audit.verdict is Verdict.CERTIFY
                and _contradicted_by_violation(audit, violations)
            ):
                contradicted += 1
    return TrackRecord(accepted, rejected, contradicted)


def reviewer_profile(
    session: Session,
    trust: TrustService,
    orgs: OrganisationsService,
    community: Community,
    username: str,
) -> ReviewerProfile:
    """The profile of `username` in the community, or 404 for an unknown user."""
    user = session.scalar(
        select(User).where(User.canonical == username.lower(), User.deleted_at.is_(None))
    )
    if user is None:
        raise NotFound("user-not-found", f"there is no user `{username[:63]}`")
    actor = trust.actor_uri(community, user)
    record = track_record(session, community, user)
    member = session.get(CommunityMember, (community.id, user.id))
    received = [r for r in trust.current(community) if r.trustee == actor]
    return ReviewerProfile(
        username=user.username,
        actor=actor,
        community=trust.community_uri(community),
        role=member.role if member else "",
        track_record=TrackRecordWire(
            accepted=record.accepted,
            rejected=record.rejected,
            contradicted=record.contradicted,
            score=round(reviewer_score(record), 4),
        ),
        distance=trust.distances(community).get(actor),
        trusted_by=[trust_record(trust, community, r) for r in received],
        organisations=[orgs.uri(o) for o in orgs.of_user(user)],
        endorsed_by=[orgs.uri(o) for o in orgs.endorsers(actor)],
    )
