"""Organisations: create one, manage its members, and endorse communities, auditors and
policies (docs/organisations.md).

An endorsement is a canonical JSON document the registry writes, audited as
`org.endorse` and signed into the transparency log by digest (`federation/records.py`);
its revocation is logged as a tombstone (`org.endorse-revoke`) with its public reason.
An organisation counts for an audit's quorum only through an endorsement of its own
member as an auditor (`audit_organisations`).
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fpmreg.core.integrity import canonical
from fpmreg.core.names import name_problems
from fpmreg.core.vet.criteria import uri_problems
from fpmreg.core.wire.organisations import (
    ENDORSEMENT_KINDS,
    ORG_ROLES,
    EndorsementRequest,
    OrganisationRequest,
    OrgMemberRequest,
)
from fpmreg.server.accounts.models import User
from fpmreg.server.clock import Clock
from fpmreg.server.communities.models import Community
from fpmreg.server.communities.org_models import Endorsement, Organisation, OrganisationMember
from fpmreg.server.communities.service import _SLUG, InvalidDocument, _slug_help, _text
from fpmreg.server.errors import Conflict, Forbidden, NotFound
from fpmreg.server.events import record_event

ADMIN = "admin"
ENDORSE, REVOKE = "org.endorse", "org.endorse-revoke"


def stamp(at: datetime) -> str:
    """A time as the API writes times."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def user_uri(base: str, user: User) -> str:
    """A registry user's actor URI: what audits name as their auditor."""
    return f"{base.rstrip('/')}/ap/users/{user.username}"


def org_uri(base: str, name: str) -> str:
    """An organisation's URI: its actor, and its page."""
    return f"{base.rstrip('/')}/orgs/{name}"


def audit_organisations(session: Session, base: str, user: User) -> list[str]:
    """The organisations an audit by `user` names: those `user` is a member of that also
    endorse `user` as an auditor, not revoked (docs/organisations.md, "Quorums")."""
    rows = session.scalars(
        select(Organisation.name)
        .join(OrganisationMember, OrganisationMember.organisation_id == Organisation.id)
        .join(Endorsement, Endorsement.organisation_id == Organisation.id)
        .where(
            OrganisationMember.user_id == user.id,
            Endorsement.kind == "auditor",
            Endorsement.subject == user_uri(base, user),
            Endorsement.revoked_at.is_(None),
        )
    )
    return sorted({org_uri(base, name) for name in rows})


class OrganisationsService:
    """Organisations of this registry; `base_url` makes their URIs."""

    def __init__(self, session: Session, clock: Clock, base_url: str) -> None:
        self.session = session
        self.clock = clock
        self.base = base_url.rstrip("/")

    def uri(self, org: Organisation) -> str:
        """The organisation's URI (its actor and its page)."""
        return org_uri(self.base, org.name)

    def endorsement_uri(self, org: Organisation, endorsement: Endorsement) -> str:
        """Where the endorsement's document is served (and what its log entry names)."""
        return f"{self.uri(org)}/endorsements/{endorsement.id}"

    def get(self, name: str) -> Organisation:
        """The organisation `name`, or 404."""
        found = self.session.scalar(select(Organisation).where(Organisation.name == name.lower()))
        if found is None:
            raise NotFound("organisation-not-found", f"there is no organisation `{name[:63]}`")
        return found

    def all(self) -> list[Organisation]:
        """Every organisation, by name."""
        return list(self.session.scalars(select(Organisation).order_by(Organisation.name)))

    def members(self, org: Organisation) -> list[tuple[User, OrganisationMember]]:
        """The members with their roles: admins first, then by name."""
        rows = self.session.execute(
            select(User, OrganisationMember)
            .join(OrganisationMember, OrganisationMember.user_id == User.id)
            .where(OrganisationMember.organisation_id == org.id)
        ).all()
        pairs = [(user, member) for user, member in rows]
        return sorted(pairs, key=lambda p: (ORG_ROLES.index(p[1].role), p[0].canonical))

    def of_user(self, user: User) -> list[Organisation]:
        """The organisations `user` is a member of, by name."""
        return list(
            self.session.scalars(
                select(Organisation)
                .join(OrganisationMember, OrganisationMember.organisation_id == Organisation.id)
                .where(OrganisationMember.user_id == user.id)
                .order_by(Organisation.name)
            )
        )

    def endorsements(self, org: Organisation) -> list[Endorsement]:
        """Its endorsements, newest first, revoked ones included."""
        return list(
            self.session.scalars(
                select(Endorsement)
                .where(Endorsement.organisation_id == org.id)
                .order_by(Endorsement.id.desc())
            )
        )

    def endorsers(self, subject: str) -> list[Organisation]:
        """The organisations whose endorsement of `subject` stands, by name."""
        return list(
            self.session.scalars(
                select(Organisation)
                .join(Endorsement, Endorsement.organisation_id == Organisation.id)
                .where(Endorsement.subject == subject, Endorsement.revoked_at.is_(None))
                .order_by(Organisation.name)
                .distinct()
            )
        )

    def endorsement(self, org: Organisation, endorsement_id: int) -> Endorsement:
        """One endorsement of the organisation, or 404."""
        found = self.session.get(Endorsement, endorsement_id)
        if found is None or found.organisation_id != org.id:
            raise NotFound(
                "endorsement-not-found",
                f"organisation `{org.name}` has no endorsement {endorsement_id}",
            )
        return found

    def create(self, user: User, request: OrganisationRequest) -> Organisation:
        """A new organisation with `user` as its admin."""
        name = request.name
        problems = name_problems(name, field="name", what="organisation")
        if problems:
            raise InvalidDocument.of(problems)
        if not _SLUG.fullmatch(name):
            raise InvalidDocument("organisation-name-invalid", _slug_help("name", name), "name")
        title, summary = _text("title", request.title), _text("summary", request.summary)
        if not title:
            raise InvalidDocument("organisation-title-missing", "give it a `title`", "title")
        if self.session.scalar(select(Organisation.id).where(Organisation.name == name)):
            raise Conflict(
                "organisation-exists", f"an organisation `{name}` exists: choose another name"
            )
        now = self.clock.now()
        org = Organisation(name=name, title=title, summary=summary, created_at=now)
        self.session.add(org)
        self.session.flush()
        self.session.add(
            OrganisationMember(organisation_id=org.id, user_id=user.id, role=ADMIN, since=now)
        )
        record_event(
            self.session, at=now, actor_id=user.id, action="org.create", subject=f"org:{name}"
        )
        self.session.flush()
        return org

    def role_of(self, org: Organisation, user: User | None) -> str | None:
        """`user`'s role in the organisation, or None."""
        if user is None:
            return None
        member = self.session.get(OrganisationMember, (org.id, user.id))
        return member.role if member else None

    def require_admin(self, org: Organisation, user: User) -> None:
        """Refuse anyone who is not an admin of the organisation (403)."""
        if self.role_of(org, user) != ADMIN:
            raise Forbidden(
                "not-an-org-admin",
                f"only the admins of organisation `{org.name}` may do that",
                "authorization",
            )

    def set_member(self, actor: User, org: Organisation, request: OrgMemberRequest) -> None:
        """Add a member or change their role. Admins only; the last admin stays."""
        self.require_admin(org, actor)
        if request.role not in ORG_ROLES:
            raise InvalidDocument("member-role-invalid", "`role` is `admin` or `member`", "role")
        wanted = _text("username", request.username).lower()
        user = self.session.scalar(select(User).where(User.canonical == wanted))
        if user is None:
            raise NotFound("user-not-found", f"there is no user `{request.username[:63]}`")
        member = self.session.get(OrganisationMember, (org.id, user.id))
        if member is not None and member.role == ADMIN and request.role != ADMIN:
            admins = self.session.scalar(
                select(func.count()).where(
                    OrganisationMember.organisation_id == org.id, OrganisationMember.role == ADMIN
                )
            )
            if admins == 1:
                raise Conflict("last-admin", "make another admin before this one steps down")
        now = self.clock.now()
        if member is None:
            member = OrganisationMember(organisation_id=org.id, user_id=user.id, since=now)
            self.session.add(member)
        member.role = request.role
        record_event(
            self.session,
            at=now,
            actor_id=actor.id,
            action="org.member",
            subject=f"org:{org.name}",
            data={"user": user.username, "role": request.role},
        )
        self.session.flush()

    def endorse(self, actor: User, org: Organisation, request: EndorsementRequest) -> Endorsement:
        """A new endorsement, signed into the log. Admins only; one standing endorsement
        per subject and kind."""
        self.require_admin(org, actor)
        if request.kind not in ENDORSEMENT_KINDS:
            raise InvalidDocument(
                "endorsement-kind-invalid", "`kind` is `community`, `auditor` or `policy`", "kind"
            )
        subject = _text("subject", request.subject)
        problems = uri_problems(subject, "subject")
        if problems:
            raise InvalidDocument.of(problems)
        self._check_local(request.kind, subject)
        standing = self.session.scalar(
            select(Endorsement.id).where(
                Endorsement.organisation_id == org.id,
                Endorsement.kind == request.kind,
                Endorsement.subject == subject,
                Endorsement.revoked_at.is_(None),
            )
        )
        if standing is not None:
            raise Conflict(
                "endorsement-exists",
                f"organisation `{org.name}` already endorses "
                f"this {request.kind}: endorsement {standing}",
            )
        now = self.clock.now()
        row = Endorsement(
            organisation_id=org.id,
            kind=request.kind,
            subject=subject,
            body="",
            sha256="",
            created_at=now,
            created_by=actor.id,
        )
        self.session.add(row)
        self.session.flush()
        body = {
            "type": "Endorsement",
            "id": self.endorsement_uri(org, row),
            "issuer": self.uri(org),
            "kind": request.kind,
            "subject": subject,
            "reason": _text("reason", request.reason),
            "issued": stamp(now),
        }
        data = canonical(body)
        row.body, row.sha256 = data.decode("utf-8"), hashlib.sha256(data).hexdigest()
        self._event(actor, org, row, ENDORSE, now)
        return row

    def revoke(self, actor: User, org: Organisation, row: Endorsement, reason: str) -> None:
        """Withdraw an endorsement: it stays, as a logged tombstone with the reason."""
        self.require_admin(org, actor)
        if row.revoked_at is not None:
            raise Conflict("endorsement-revoked", f"endorsement {row.id} is already revoked")
        why = _text("reason", reason)
        if not why:
            raise InvalidDocument("reason-missing", "say why the endorsement is revoked", "reason")
        now = self.clock.now()
        row.revoked_at, row.revoke_reason = now, why
        self._event(actor, org, row, REVOKE, now, reason=why)

    def _check_local(self, kind: str, subject: str) -> None:
        """A subject on this registry must exist: a typo would endorse nothing."""
        if not subject.startswith(self.base + "/"):
            return
        path = subject.removeprefix(self.base)
        if kind == "auditor":
            name = path.removeprefix("/ap/users/") if path.startswith("/ap/users/") else ""
            if (
                not name
                or self.session.scalar(
                    select(User.id).where(User.canonical == name.lower(), User.deleted_at.is_(None))
                )
                is None
            ):
                raise InvalidDocument(
                    "endorsement-subject-unknown",
                    f"`{subject[:200]}` is not a user of this registry (`…/ap/users/NAME`)",
                    "subject",
                )
        if kind in ("community", "policy"):
            name = path.removeprefix("/c/").split("/")[0] if path.startswith("/c/") else ""
            if (
                not name
                or self.session.scalar(select(Community.id).where(Community.name == name)) is None
            ):
                raise InvalidDocument(
                    "endorsement-subject-unknown",
                    f"`{subject[:200]}` is not a {kind} of this registry",
                    "subject",
                )

    def _event(
        self,
        user: User,
        org: Organisation,
        row: Endorsement,
        action: str,
        at: datetime,
        *,
        reason: str = "",
    ) -> None:
        data = {
            "document": self.endorsement_uri(org, row),
            "sha256": row.sha256,
            "organisation": self.uri(org),
            "kind": row.kind,
        }
        record_event(
            self.session,
            at=at,
            actor_id=user.id,
            action=action,
            reason=reason,
            subject=f"org:{org.name}/endorsements/{row.id}",
            data=data,
        )
        self.session.flush()


def endorsement_body(row: Endorsement) -> dict[str, Any]:
    """The endorsement's document as JSON."""
    body: dict[str, Any] = json.loads(row.body)
    return body
