"""Audits submitted to a community, vetted by its reviewers, and revoked with a tombstone
(docs/communities.md, "Audits").

The registry writes the audit document itself (docs/vetting.md, "Audits"), binding each
reviewed release to the sha256 of the tarball it serves, so an audit can never be about
other bytes than the ones the auditor could download. An accepted audit, and the
revocation of one, is signed into the transparency log by digest.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from fpmreg.core.integrity import canonical
from fpmreg.core.vet.audits import AuditError, parse_audit
from fpmreg.core.wire.communities import LEVELS, AuditDecision, AuditRequest
from fpmreg.server.accounts.models import User
from fpmreg.server.clock import Clock
from fpmreg.server.communities.models import AuditApproval, Community, CommunityAudit
from fpmreg.server.communities.organisations import audit_organisations
from fpmreg.server.communities.service import FOUNDER, CommunitiesService, InvalidDocument
from fpmreg.server.errors import Conflict, Forbidden, NotFound
from fpmreg.server.events import record_event
from fpmreg.server.packages.models import Version
from fpmreg.server.packages.service import PackagesService

REVIEWERS = frozenset({FOUNDER, "reviewer"})
# Audits listed in one answer; older ones by `before`.
MAX_LISTED = 200


class AuditsService:
    """Submit, vet and revoke audits in the caller's transaction."""

    def __init__(
        self, session: Session, clock: Clock, communities: CommunitiesService,
        packages: PackagesService,
    ) -> None:  # fmt: skip
        self.session = session
        self.clock = clock
        self.communities = communities
        self.packages = packages

    def uri(self, community: Community, audit: CommunityAudit) -> str:
        """The audit's identifier, which serves its document."""
        return f"{self.communities.uri(community)}/audits/{audit.id}"

    def get(self, community: Community, audit_id: int) -> CommunityAudit:
        """One audit of the community, or 404."""
        audit = self.session.get(CommunityAudit, audit_id)
        if audit is None or audit.community_id != community.id:
            raise NotFound(
                "audit-not-found", f"community `{community.name}` has no audit {audit_id}"
            )
        return audit

    def listed(
        self, community: Community, *, status: str = "", package: str = ""
    ) -> list[CommunityAudit]:
        """The community's audits, newest first, by status and package if given."""
        query = select(CommunityAudit).where(CommunityAudit.community_id == community.id)
        if status:
            query = query.where(CommunityAudit.status == status)
        if package:
            query = query.where(CommunityAudit.package == package.lower())
        query = query.order_by(CommunityAudit.id.desc()).limit(MAX_LISTED)
        return list(self.session.scalars(query))

    def submit(self, user: User, community: Community, request: AuditRequest) -> CommunityAudit:
        """A new audit by `user`, waiting for the community's reviewers."""
        namespace, _, name = request.package.partition("/")
        package = self.packages.get_package(namespace, name)
        target = self.packages.get_version(package, request.version)
        base = (
            self.packages.get_version(package, request.delta_from) if request.delta_from else None
        )
        if base is not None and base.id == target.id:
            why = "a delta audit goes from one release to another: `delta_from` is the new one"
            raise InvalidDocument("audit-delta-empty", why, "delta_from")
        for field, value in (("thoroughness", request.thoroughness),
                             ("understanding", request.understanding)):  # fmt: skip
            if value not in LEVELS:
                raise InvalidDocument("audit-level-invalid", f"`{field}` is one of "
                                      + ", ".join(f"`{v}`" for v in LEVELS), field)  # fmt: skip
        criteria = self._criteria(community, request.criteria)
        now = self.clock.now()
        audit = CommunityAudit(community_id=community.id, auditor_id=user.id, body="", sha256="",
                               package=f"{package.namespace.name}/{package.name}".lower(),
                               status="submitted", submitted_at=now)  # fmt: skip
        self.session.add(audit)
        self.session.flush()
        purl = f"pkg:fpm/{package.namespace.name}/{package.name}"
        body: dict[str, object] = {
            "type": "Audit", "id": self.uri(community, audit), "verdict": request.verdict,
            "criteria": criteria, "thoroughness": request.thoroughness,
            "understanding": request.understanding, "notes": request.notes,
            "auditor": f"{self.communities.base}/ap/users/{user.username}",
            "community": self.communities.uri(community),
        }  # fmt: skip
        if base is not None:
            body["deltaFrom"], body["deltaTo"] = _release(purl, base), _release(purl, target)
        else:
            body["subject"] = _release(purl, target)
        # docs/organisations.md, "Quorums": members' orgs that endorse them as auditors
        if organisations := audit_organisations(self.session, self.communities.base, user):
            body["organisations"] = organisations
        if request.verdict == "violation":
            body["violation"] = {"purl": purl, "range": request.violation_range}
        try:
            parse_audit(body)
        except AuditError as exc:
            raise InvalidDocument.of(exc.problems) from None
        data = canonical(body)
        audit.body, audit.sha256 = data.decode("utf-8"), hashlib.sha256(data).hexdigest()
        self._event(user, community, audit, "community.audit-submit", now)
        return audit

    def decide(
        self, reviewer: User, community: Community, audit: CommunityAudit, decision: AuditDecision
    ) -> None:
        """Accept or reject a submitted audit: reviewers and founders, never their own."""
        if self.communities.role_of(community, reviewer) not in REVIEWERS:
            raise Forbidden("not-a-reviewer", f"only the reviewers and founders of community "
                            f"`{community.name}` vet its audits", "authorization")  # fmt: skip
        if audit.auditor_id == reviewer.id:
            raise Forbidden("own-audit", "another reviewer must vet your own audit",
                            "authorization")  # fmt: skip
        if audit.status != "submitted":
            raise Conflict("audit-decided", f"audit {audit.id} is already {audit.status}")
        reason = decision.reason.strip()
        if not decision.accept and not reason:
            raise InvalidDocument("reason-missing", "say why the audit is rejected", "reason")
        now = self.clock.now()
        if decision.accept and not self._approved(reviewer, community, audit, now):
            return  # the quorum of reviewers is not reached yet
        audit.status = "accepted" if decision.accept else "rejected"
        audit.reason, audit.decided_by, audit.decided_at = reason, reviewer.id, now
        action = "community.audit-accept" if decision.accept else "community.audit-reject"
        self._event(reviewer, community, audit, action, now, reason=reason)

    def _approved(
        self, reviewer: User, community: Community, audit: CommunityAudit, now: datetime
    ) -> bool:
        """Record `reviewer`'s acceptance; whether the audit now has the community's
        quorum of distinct reviewers (docs/communities.md, "Vetting")."""
        if self.session.get(AuditApproval, (audit.id, reviewer.id)) is not None:
            raise Conflict("audit-approved", f"you already accepted audit {audit.id}: "
                           "another reviewer must accept it too")  # fmt: skip
        self.session.add(AuditApproval(audit_id=audit.id, reviewer_id=reviewer.id,
                                       approved_at=now))  # fmt: skip
        self.session.flush()
        count = len(self.approvers(audit))
        if count >= community.reviews_needed:
            return True
        self._event(reviewer, community, audit, "community.audit-approve", now)
        return False

    def approvers(self, audit: CommunityAudit) -> list[str]:
        """The usernames of the reviewers who accepted the audit, in order."""
        return list(
            self.session.scalars(
                select(User.username)
                .join(AuditApproval, AuditApproval.reviewer_id == User.id)
                .where(AuditApproval.audit_id == audit.id)
                .order_by(AuditApproval.approved_at, User.username)
            )
        )

    def revoke(self, user: User, community: Community, audit: CommunityAudit, reason: str) -> None:
        """Withdraw an audit (its auditor, or a founder). It stays listed as revoked, and
        an accepted one gets a logged tombstone: nothing disappears silently."""
        is_founder = self.communities.role_of(community, user) == FOUNDER
        if audit.auditor_id != user.id and not is_founder:
            raise Forbidden("not-the-auditor", "only the auditor or a founder may revoke an "
                            "audit", "authorization")  # fmt: skip
        if audit.status in ("revoked", "rejected"):
            raise Conflict("audit-decided", f"audit {audit.id} is already {audit.status}")
        if not reason.strip():
            raise InvalidDocument("reason-missing", "say why the audit is revoked", "reason")
        now = self.clock.now()
        audit.status, audit.reason, audit.decided_at = "revoked", reason.strip(), now
        audit.decided_by = user.id
        self._event(user, community, audit, "community.audit-revoke", now, reason=reason.strip())

    def _criteria(self, community: Community, slugs: list[str]) -> list[str]:
        published = {d.slug for d in self.communities.latest(community, "criteria")}
        for index, slug in enumerate(slugs):
            if slug not in published:
                raise InvalidDocument("audit-criterion-unknown", f"`{slug[:63]}` is not a "
                                      f"criterion of community `{community.name}`",
                                      f"criteria[{index}]")  # fmt: skip
        return sorted({self.communities.uri(community, "criteria", s) for s in slugs})

    def _event(
        self, user: User, community: Community, audit: CommunityAudit, action: str,
        at: datetime, *, reason: str = "",
    ) -> None:  # fmt: skip
        data = {"document": self.uri(community, audit), "sha256": audit.sha256,
                "community": self.communities.uri(community), "kind": "audits",
                "package": audit.package}  # fmt: skip
        subject = f"community:{community.name}/audits/{audit.id}"
        record_event(self.session, at=at, actor_id=user.id, action=action, reason=reason,
                     subject=subject, data=data)  # fmt: skip
        self.session.flush()


def _release(purl: str, version: Version) -> dict[str, str]:
    return {"purl": f"{purl}@{version.version}", "sha256": version.sha256}
