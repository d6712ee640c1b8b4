"""Trust statements in a community, and the trust metric run over them
(docs/organisations.md, "Trust statements"; the metric is docs/vetting.md, "Trust").

A member states how much they trust another actor; each statement is a canonical JSON
document, audited as `community.trust` and signed into the transparency log by digest.
Rows are only added: of several statements about one pair (and scope), the last counts,
so `none` withdraws trust. The community's founders seed the Advogato metric of
`fpmreg.core.vet.trust`; `TrustService.distances` is what a policy's `maxTrustDistance`
reads.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from fpmreg.core.integrity import canonical
from fpmreg.core.vet.criteria import uri_problems
from fpmreg.core.vet.trust import (
    TrustLevel,
    TrustResult,
    TrustStatement,
    advogato,
    sybil_bound,
)
from fpmreg.core.wire.organisations import TRUST_LEVELS, TrustRequest
from fpmreg.server.accounts.models import User
from fpmreg.server.clock import Clock, SystemClock
from fpmreg.server.communities.models import (
    Community,
    CommunityAudit,
    CommunityDocument,
    CommunityMember,
)
from fpmreg.server.communities.org_models import TrustRow
from fpmreg.server.communities.organisations import stamp
from fpmreg.server.communities.service import FOUNDER, InvalidDocument, _text
from fpmreg.server.errors import Forbidden, NotFound
from fpmreg.server.events import record_event

ACTION = "community.trust"


class TrustService:
    """Trust statements of communities, and who their metric accepts. `base_url` makes
    actor URIs; without it, it is read from what the community published."""

    def __init__(self, session: Session, clock: Clock | None = None, base_url: str = "") -> None:
        self.session = session
        self.clock = clock or SystemClock()
        self.base = base_url.rstrip("/")
        self._found: dict[int, str] = {}

    # URIs

    def registry(self, community: Community) -> str:
        """This registry's base URL: the one given, or the prefix of the community's
        published documents' and audits' ids (they are `BASE/c/NAME/…`)."""
        if self.base or community.id in self._found:
            return self.base or self._found[community.id]
        self._found[community.id] = self._published_base(community)
        return self._found[community.id]

    def _published_base(self, community: Community) -> str:
        marker = f"/c/{community.name}"
        queries = (
            select(CommunityDocument.body).where(CommunityDocument.community_id == community.id),
            select(CommunityAudit.body).where(CommunityAudit.community_id == community.id),
        )
        for query in queries:
            body = self.session.scalar(query.limit(1))
            found = str(json.loads(body).get("id", "")) if body else ""
            if marker + "/" in found:
                return found.split(marker + "/")[0]
        return ""

    def community_uri(self, community: Community) -> str:
        return f"{self.registry(community)}/c/{community.name}"

    def actor_uri(self, community: Community, user: User) -> str:
        """The actor URI of a registry user, as audits name their auditor."""
        return f"{self.registry(community)}/ap/users/{user.username}"

    def statement_uri(self, community: Community, row: TrustRow) -> str:
        """Where a statement's document is served (and what its log entry names)."""
        return f"{self.community_uri(community)}/trust/{row.id}"

    # Reading

    def rows(self, community: Community) -> list[TrustRow]:
        """Every statement made in the community, oldest first."""
        return list(
            self.session.scalars(
                select(TrustRow).where(TrustRow.community_id == community.id).order_by(TrustRow.id)
            )
        )

    def current(self, community: Community) -> list[TrustRow]:
        """The statements that count: the last one per truster, trustee and scope."""
        last: dict[tuple[str, str, str], TrustRow] = {}
        for row in self.rows(community):
            last[(row.truster, row.trustee, row.scope)] = row
        return sorted(last.values(), key=lambda r: r.id)

    def get(self, community: Community, statement_id: int) -> TrustRow:
        """One statement of the community, or 404."""
        row = self.session.get(TrustRow, statement_id)
        if row is None or row.community_id != community.id:
            raise NotFound(
                "trust-not-found",
                f"community `{community.name}` has no trust statement {statement_id}",
            )
        return row

    def statements(self, community: Community) -> list[TrustStatement]:
        """The community's statements for the core, in the order they were made."""
        return [
            TrustStatement(
                row.truster, row.trustee, TrustLevel(row.level), row.scope or None, row.reason
            )
            for row in self.rows(community)
        ]

    def founders(self, community: Community) -> list[str]:
        """The founders' actor URIs: the seeds of the metric."""
        users = self.session.scalars(
            select(User)
            .join(CommunityMember, CommunityMember.user_id == User.id)
            .where(CommunityMember.community_id == community.id, CommunityMember.role == FOUNDER)
        )
        return sorted(self.actor_uri(community, user) for user in users)

    def result(self, community: Community) -> TrustResult:
        """The Advogato run over the community's statements (within its scope), seeded
        by its founders (docs/vetting.md, "The Advogato metric")."""
        return advogato(
            self.statements(community),
            self.founders(community),
            scope=self.community_uri(community),
        )

    def accepted(self, community: Community) -> frozenset[str]:
        """The actors the community's trust metric accepts."""
        return self.result(community).accepted

    def distances(self, community: Community) -> dict[str, int]:
        """Accepted actor URI → hops from the nearest founder: what a policy's
        `maxTrustDistance` is compared with. Actors not accepted are absent."""
        return self.result(community).distances()

    def bound(self, community: Community, suspects: Iterable[str]) -> int:
        """At most how many of `suspects` the metric can accept, whatever they state: the
        Sybil bound over the attack edges, the statements of others about them
        (docs/vetting.md, "The bound on fake accounts")."""
        fake = frozenset(suspects)
        minimum = TrustLevel.LOW.rank
        edges = [
            (s.truster, s.trustee)
            for s in self.statements(community)
            if s.truster not in fake and s.trustee in fake and s.level.rank >= minimum
        ]
        return sybil_bound(self.result(community), edges)

    # Changing

    def state(self, user: User, community: Community, request: TrustRequest) -> TrustRow:
        """A member's statement about another actor, signed into the log."""
        if self.session.get(CommunityMember, (community.id, user.id)) is None:
            raise Forbidden(
                "not-a-member",
                f"only members of community `{community.name}` state trust in it",
                "authorization",
            )
        if request.level not in TRUST_LEVELS:
            raise InvalidDocument(
                "trust-level-invalid",
                "`level` is one of " + ", ".join(f"`{v}`" for v in TRUST_LEVELS),
                "level",
            )
        truster = self.actor_uri(community, user)
        trustee = self._trustee(community, _text("trustee", request.trustee))
        if trustee == truster:
            raise InvalidDocument("trust-self", "a statement is about someone else", "trustee")
        scope = _text("scope", request.scope)
        if scope and (problems := uri_problems(scope, "scope")):
            raise InvalidDocument.of(problems)
        now = self.clock.now()
        row = TrustRow(
            community_id=community.id,
            truster_id=user.id,
            truster=truster,
            trustee=trustee,
            level=request.level,
            scope=scope,
            reason=_text("reason", request.reason),
            body="",
            sha256="",
            stated_at=now,
        )
        self.session.add(row)
        self.session.flush()
        body = {
            "type": "Trust",
            "id": self.statement_uri(community, row),
            "truster": truster,
            "trustee": trustee,
            "level": row.level,
            "reason": row.reason,
            "community": self.community_uri(community),
            "stated": stamp(now),
        }
        if scope:
            body["scope"] = scope
        data = canonical(body)
        row.body, row.sha256 = data.decode("utf-8"), hashlib.sha256(data).hexdigest()
        record_event(
            self.session,
            at=now,
            actor_id=user.id,
            action=ACTION,
            subject=f"community:{community.name}/trust/{row.id}",
            data={
                "document": body["id"],
                "sha256": row.sha256,
                "community": body["community"],
                "kind": "trust",
            },
        )
        self.session.flush()
        return row

    def _trustee(self, community: Community, given: str) -> str:
        """The actor URI a trustee names: a local username or `…/ap/users/NAME` (the user
        must exist), or another registry's actor URI."""
        local = f"{self.registry(community)}/ap/users/"
        if given.startswith(local) or ("/" not in given and ":" not in given):
            name = given.removeprefix(local).lower()
            user = self.session.scalar(
                select(User).where(User.canonical == name, User.deleted_at.is_(None))
            )
            if user is None:
                raise NotFound("user-not-found", f"there is no user `{given[:200]}`")
            return self.actor_uri(community, user)
        if problems := uri_problems(given, "trustee"):
            raise InvalidDocument.of(problems)
        return given
