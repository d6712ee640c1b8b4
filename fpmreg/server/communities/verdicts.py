"""Signed verdicts: the registry evaluates its communities' policies for every release
and stores, logs and serves the result (docs/communities.md, "Verdicts").

`build_evidence` reads what a policy may rest on from the database (the criteria and
accepted audits of the policy's community and of the communities it accepts that are
hosted here); `VerdictsService` evaluates releases with the pure core
(`fpmreg.core.vet.evaluate`) and stores a verdict only when its result or its inputs
changed, as an in-toto Statement carrying a SLSA verification summary, signed into the
transparency log as `community.verdict`. Services flush; the caller commits.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fpmreg.core.integrity import canonical
from fpmreg.core.names import canonical_name
from fpmreg.core.problem import ProblemsError
from fpmreg.core.versions import Version as FpmVersion
from fpmreg.core.vet.audits import parse_audit
from fpmreg.core.vet.criteria import CriteriaGraph, parse_criterion
from fpmreg.core.vet.evaluate import Evidence, PackageVerdict, evaluate_release
from fpmreg.core.vet.policy import Policy, parse_policy
from fpmreg.core.vet.refs import PackageName, Release
from fpmreg.core.vet.report import package_verdict_to_json
from fpmreg.server.accounts.models import Namespace
from fpmreg.server.communities import group
from fpmreg.server.communities.facts import attested_facts, release_purl
from fpmreg.server.communities.imported_models import ImportedCommunity, ImportedEvidence
from fpmreg.server.communities.models import (
    Community,
    CommunityAudit,
    CommunityDocument,
    CommunityVerdict,
)
from fpmreg.server.communities.proxy import DEFAULT_POLICY
from fpmreg.server.communities.service import CommunitiesService, document_body
from fpmreg.server.communities.trust import TrustService
from fpmreg.server.events import record_event
from fpmreg.server.packages.models import Package, Version
from fpmreg.server.packages.schemas import tarball_path

log = logging.getLogger(__name__)

ACTION = "community.verdict"
STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PREDICATE_TYPE = "https://slsa.dev/verification_summary/v1"
# The predicate's extension field with the whole explanation (docs/communities.md).
REPORT_FIELD = "fpmregVet"
# Releases evaluated synchronously for one event, newest first; beyond, the rest keep
# their verdict until their next event (docs/communities.md, "When a verdict is issued").
MAX_RELEASES_PER_EVENT = 500
# Evaluations in one transaction, all packages and policies together: a bound on the
# time an event's commit may take; what is left keeps its verdict until its next event.
MAX_EVALUATIONS_PER_TRANSACTION = 5000


@dataclass(frozen=True)
class PolicyVersion:
    """A community's latest version of one policy, read."""

    community: Community
    document: CommunityDocument
    policy: Policy


@dataclass(frozen=True)
class PackageEvidence:
    """What one policy's verdicts on one package rest on, and each audit's digest."""

    evidence: Evidence
    digests: Mapping[str, str]  # audit URI -> sha256 of its document


def in_reach(policy: Policy) -> list[str]:
    """The communities whose audits may count for `policy`: its own, then `acceptFrom`."""
    return [policy.community, *(a.community for a in policy.accept)]


def hosted(
    session: Session, communities: CommunitiesService, uris: Iterable[str]
) -> list[Community]:
    """The communities among `uris` that this registry hosts (others are not read)."""
    prefix = f"{communities.base}/c/"
    names = {u.removeprefix(prefix) for u in uris if u.startswith(prefix)}
    names = {n for n in names if n and "/" not in n}
    if not names:
        return []
    return list(session.scalars(select(Community).where(Community.name.in_(sorted(names)))))


def build_evidence(
    session: Session,
    communities: CommunitiesService,
    policy: Policy,
    package: str,
    now: datetime,
    distances: Mapping[str, int] | None = None,
) -> PackageEvidence:
    """The evidence for `policy`'s verdicts on `package` (`ns/name`): the latest criteria
    and the accepted audits of the package, of its community and of each hosted community
    in `acceptFrom`. Audit documents are handed over as written, `organisations`
    included. With `maxTrustDistance` and no `distances`, nobody is trusted."""
    reach = hosted(session, communities, in_reach(policy))
    graphs = {communities.uri(c): _criteria(communities, c) for c in reach}
    rows = session.scalars(
        select(CommunityAudit)
        .where(
            CommunityAudit.community_id.in_([c.id for c in reach]),
            CommunityAudit.status == "accepted",
            CommunityAudit.package == package.lower(),
        )
        .order_by(CommunityAudit.id)
    )
    audits, digests = [], {}
    for row in rows:
        try:
            audit = parse_audit(json.loads(row.body))
        except ProblemsError as exc:  # written by the registry; a stricter core since
            log.warning("verdicts: audit %s no longer reads: %s", row.id, exc)
            continue
        audits.append(audit)
        digests[audit.id] = row.sha256
    for uri, imported in _imported(session, communities, policy, package).items():
        criteria = []
        for r in imported:  # verified when imported (docs/communities.md, "Remote acceptFrom")
            try:
                if r.kind == "criteria":
                    criteria.append(parse_criterion(json.loads(r.body)))
                else:
                    audit = parse_audit(json.loads(r.body))
                    audits.append(audit)
                    digests[audit.id] = r.sha256
            except ProblemsError as exc:  # read when imported; a stricter core since
                log.warning("verdicts: imported %s no longer reads: %s", r.uri[:200], exc)
        graphs[uri] = CriteriaGraph(tuple(criteria))
    trust = distances
    if trust is None and policy.max_trust_distance is not None:
        trust = _distances(session, communities, policy, reach)
    return PackageEvidence(Evidence(audits=audits, now=now, graphs=graphs, trust=trust), digests)


def _imported(
    session: Session, communities: CommunitiesService, policy: Policy, package: str
) -> dict[str, list[ImportedEvidence]]:
    """The imported criteria of each remote community in `policy`'s reach, and its
    imported accepted audits of `package` (docs/communities.md, "Remote acceptFrom")."""
    here = f"{communities.base}/c/"
    remote = [u for u in in_reach(policy)[1:] if not u.startswith(here)]
    if not remote:
        return {}
    rows = session.execute(
        select(ImportedCommunity.uri, ImportedEvidence)
        .join(ImportedEvidence, ImportedEvidence.source_id == ImportedCommunity.id)
        .where(
            ImportedCommunity.uri.in_(remote),
            (ImportedEvidence.kind == "criteria") | (ImportedEvidence.package == package.lower()),
        )
        .order_by(ImportedEvidence.id)
    )
    found: dict[str, list[ImportedEvidence]] = {}
    for uri, row in rows:
        found.setdefault(uri, []).append(row)
    return found


def imported_packages(session: Session, uris: list[str]) -> set[str]:
    """The packages with imported accepted audits in the remote communities `uris`."""
    return set(
        session.scalars(
            select(ImportedEvidence.package)
            .join(ImportedCommunity, ImportedEvidence.source_id == ImportedCommunity.id)
            .where(ImportedCommunity.uri.in_(uris), ImportedEvidence.kind == "audit")
            .distinct()
        )
    )


def _distances(
    session: Session, communities: CommunitiesService, policy: Policy, reach: list[Community]
) -> dict[str, int]:
    """Each accepted auditor's distance from the founders of the policy's community, by
    its trust metric (docs/organisations.md); nobody when the community is not hosted."""
    own = [c for c in reach if communities.uri(c) == policy.community]
    if not own:
        return {}
    return TrustService(session, communities.clock, communities.base).distances(own[0])


def _criteria(communities: CommunitiesService, community: Community) -> CriteriaGraph:
    found = []
    for doc in communities.latest(community, "criteria"):
        try:
            found.append(parse_criterion(document_body(doc)))
        except ProblemsError as exc:  # checked when published; a stricter core since
            log.warning("verdicts: criterion %s no longer reads: %s", doc.id, exc)
    return CriteriaGraph(tuple(found))


def verdict_uri(communities: CommunitiesService, community: Community, verdict_id: int) -> str:
    """Where a verdict's document is served (and what its log record names)."""
    return f"{communities.uri(community)}/verdicts/{verdict_id}"


class VerdictsService:
    """Evaluate releases against the policies hosted here, and read the verdicts."""

    def __init__(
        self,
        session: Session,
        communities: CommunitiesService,
        distances: Mapping[str, int] | None = None,
    ) -> None:
        self.session = session
        self.communities = communities
        self.distances = distances
        self.budget = MAX_EVALUATIONS_PER_TRANSACTION  # evaluations left

    # Reading

    def policies(self) -> list[PolicyVersion]:
        """The latest version of every policy of every community hosted here."""
        found = []
        for community in self.communities.all():
            for doc in self.communities.latest(community, "policies"):
                try:
                    found.append(PolicyVersion(community, doc, parse_policy(document_body(doc))))
                except ProblemsError as exc:  # checked when published; a stricter core since
                    log.warning("verdicts: policy %s no longer reads: %s", doc.id, exc)
        return found

    def get(self, community: Community, verdict_id: int) -> CommunityVerdict | None:
        """One verdict of the community, or None."""
        row = self.session.get(CommunityVerdict, verdict_id)
        return row if row is not None and row.community_id == community.id else None

    def current(
        self, *, package: str = "", version: str = "", community: Community | None = None
    ) -> list[CommunityVerdict]:
        """The current verdict per (policy, release), by community, policy and version."""
        newest = select(func.max(CommunityVerdict.id)).group_by(
            CommunityVerdict.community_id,
            CommunityVerdict.policy_slug,
            CommunityVerdict.package,
            CommunityVerdict.version,
        )
        if package:
            newest = newest.where(CommunityVerdict.package == package.lower())
        if version:
            newest = newest.where(CommunityVerdict.version == version)
        if community is not None:
            newest = newest.where(CommunityVerdict.community_id == community.id)
        rows = self.session.scalars(
            select(CommunityVerdict).where(CommunityVerdict.id.in_(newest.scalar_subquery()))
        )
        return sorted(rows, key=lambda r: (r.community_id, r.policy_slug, r.package, r.id))

    def history(self, community: Community, package: str, limit: int) -> list[CommunityVerdict]:
        """Every verdict of the community (on `package` if given), newest first."""
        query = select(CommunityVerdict).where(CommunityVerdict.community_id == community.id)
        if package:
            query = query.where(CommunityVerdict.package == package.lower())
        return list(self.session.scalars(query.order_by(CommunityVerdict.id.desc()).limit(limit)))

    # Evaluating: the triggers (docs/communities.md, "When a verdict is issued")

    def release_published(self, package: str, version: str) -> None:
        """A new release: evaluate it against every policy."""
        found = self._package(package)
        if found is None:
            return
        row = self.session.scalar(
            select(Version).where(Version.package_id == found.id, Version.version == version)
        )
        if row is None:
            return
        for policy in self.policies():
            self._evaluate_package(policy, found, [row])

    def audit_changed(self, community_uri: str, package: str) -> None:
        """An audit accepted or revoked: the package's releases, for every policy whose
        audits may come from its community."""
        found = self._package(package)
        if found is None:
            return
        for policy in self.policies():
            if policy.policy.accepted(community_uri) is not None:
                self._evaluate_package(policy, found, None)

    def facts_changed(self, package: str) -> None:
        """A fact about the package changed (its expectations): its releases, for every
        policy that requires facts."""
        found = self._package(package)
        if found is None:
            return
        for policy in self.policies():
            if policy.policy.required_facts:
                self._evaluate_package(policy, found, None)

    def community_changed(self, community_uri: str) -> None:
        """A policy or criterion version, or a trust statement, published: every policy
        of that community or accepting it, for the packages it can reach."""
        for policy in self.policies():
            if policy.policy.accepted(community_uri) is not None:
                self.evaluate_policy(policy)

    def evaluate_policy(self, policy: PolicyVersion) -> None:
        """`policy` for every release of the packages it can say something about: those
        with accepted audits in its reach, those it exempts, and those it has verdicts
        on. Other releases get their verdict at their next event (publish, audit)."""
        reach = hosted(self.session, self.communities, in_reach(policy.policy))
        names = set(
            self.session.scalars(
                select(CommunityAudit.package)
                .where(
                    CommunityAudit.community_id.in_([c.id for c in reach]),
                    CommunityAudit.status.in_(("accepted", "revoked")),
                )
                .distinct()
            )
        )
        names |= imported_packages(self.session, in_reach(policy.policy)[1:])
        names |= {str(ex.package) for ex in policy.policy.exemptions}
        names |= set(
            self.session.scalars(
                select(CommunityVerdict.package)
                .where(
                    CommunityVerdict.community_id == policy.community.id,
                    CommunityVerdict.policy_slug == policy.document.slug,
                )
                .distinct()
            )
        )
        found = {p.id: p for p in (self._package(n) for n in sorted(names)) if p is not None}
        for package in found.values():
            self._evaluate_package(policy, package, None)

    # Evaluating: one package

    def _package(self, package: str) -> Package | None:
        namespace, _, name = package.partition("/")
        return self.session.scalar(
            select(Package)
            .join(Package.namespace)
            .where(
                Namespace.canonical == canonical_name(namespace),
                Package.canonical == canonical_name(name),
            )
        )

    def _evaluate_package(
        self, policy: PolicyVersion, package: Package, versions: list[Version] | None
    ) -> None:
        if versions is None:
            versions = list(
                self.session.scalars(
                    select(Version)
                    .where(Version.package_id == package.id)
                    .order_by(Version.major.desc(), Version.minor.desc(), Version.patch.desc(),
                              Version.id.desc())
                    .limit(MAX_RELEASES_PER_EVENT + 1)
                )
            )  # fmt: skip
            if len(versions) > MAX_RELEASES_PER_EVENT:
                log.warning("verdicts: only the newest %d releases of %s/%s were evaluated",
                            MAX_RELEASES_PER_EVENT, package.namespace.name,
                            package.name)  # fmt: skip
                versions = versions[:MAX_RELEASES_PER_EVENT]
        if len(versions) > self.budget:
            log.warning("verdicts: %d evaluations in one transaction; %s/%s and the rest "
                        "wait for their next event", MAX_EVALUATIONS_PER_TRANSACTION,
                        package.namespace.name, package.name)  # fmt: skip
            self.budget = 0
            return
        self.budget -= len(versions)
        key = f"{package.namespace.name}/{package.name}"
        now = self.communities.clock.now()
        inputs = build_evidence(self.session, self.communities, policy.policy, key, now,
                                self.distances)  # fmt: skip
        name = PackageName(package.namespace.name, package.name)
        for version in versions:
            release = Release(FpmVersion.parse(version.version), version.sha256)
            evidence = inputs.evidence
            if policy.policy.required_facts:  # docs/vetting.md, "Facts the registry attests"
                attested = attested_facts(self.session, package, version)
                evidence = replace(evidence, facts={(release_purl(package, version),
                                                     version.sha256): attested})  # fmt: skip
            verdict = evaluate_release(name, release, policy.policy, evidence)
            self._store(policy, package, version, verdict, inputs, now)

    def _store(
        self, policy: PolicyVersion, package: Package, version: Version, verdict: PackageVerdict,
        inputs: PackageEvidence, now: datetime,
    ) -> None:  # fmt: skip
        """A new verdict row when the result or its inputs changed since the current one."""
        used = verdict.inputs if verdict.passed else tuple(inputs.digests)
        cited = sorted([uri, inputs.digests[uri]] for uri in set(used) if uri in inputs.digests)
        result = "PASSED" if verdict.passed else "FAILED"
        key = f"{package.namespace.name}/{package.name}".lower()
        previous = self.session.scalars(
            select(CommunityVerdict)
            .where(CommunityVerdict.community_id == policy.community.id,
                   CommunityVerdict.policy_slug == policy.document.slug,
                   CommunityVerdict.package == key, CommunityVerdict.version == version.version)
            .order_by(CommunityVerdict.id.desc())
            .limit(1)
        ).first()  # fmt: skip
        if previous is not None and (
            previous.policy_id,
            previous.sha256,
            previous.result,
            previous.inputs,
        ) == (policy.document.id, version.sha256, result, cited):
            return  # nothing changed: the current verdict stands
        body = self.statement(policy, package, version, verdict, cited, now)
        data = canonical(body)
        row = CommunityVerdict(
            community_id=policy.community.id, policy_id=policy.document.id,
            policy_slug=policy.document.slug, package=key, version=version.version,
            sha256=version.sha256, result=result, inputs=cited, body=data.decode("utf-8"),
            body_sha256=hashlib.sha256(data).hexdigest(), verified_at=now,
        )  # fmt: skip
        self.session.add(row)
        self.session.flush()
        community = self.communities.uri(policy.community)
        if result == "PASSED" and (previous is None or previous.result != "PASSED"):
            self._announce(policy, package, version, row, body, now)
        record_event(self.session, at=now, actor_id=None, action=ACTION,
                     subject=f"community:{policy.community.name}/verdicts/{row.id}",
                     data={"document": verdict_uri(self.communities, policy.community, row.id),
                           "sha256": row.body_sha256, "community": community,
                           "kind": "verdicts"})  # fmt: skip
        self.session.flush()

    def _announce(
        self, policy: PolicyVersion, package: Package, version: Version, row: CommunityVerdict,
        body: dict[str, Any], now: datetime,
    ) -> None:  # fmt: skip
        """A release the community's default policy now passes, announced by its `Group`
        to its followers (docs/communities.md, "Proxy registries")."""
        if policy.document.slug != DEFAULT_POLICY:
            return
        community = self.communities.uri(policy.community)
        release = (f"{self.communities.base}/project/{package.namespace.name}/"
                   f"{package.name}/{version.version}")  # fmt: skip
        uri = verdict_uri(self.communities, policy.community, row.id)
        activity = group.verdict_announce(community, uri, release, body, now)
        group.to_followers(self.session, community, policy.community, activity, now)

    def statement(
        self, policy: PolicyVersion, package: Package, version: Version, verdict: PackageVerdict,
        cited: list[list[str]], now: datetime,
    ) -> dict[str, Any]:  # fmt: skip
        """The verdict document: an in-toto Statement v1 whose predicate is a SLSA
        verification summary v1 (docs/communities.md, "The verdict document")."""
        ns, name = package.namespace.name, package.name
        return {
            "_type": STATEMENT_TYPE,
            "subject": [{"name": f"pkg:fpm/{ns}/{name}@{version.version}",
                         "digest": {"sha256": version.sha256}}],
            "predicateType": PREDICATE_TYPE,
            "predicate": {
                "verifier": {"id": self.communities.uri(policy.community)},
                "timeVerified": now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "resourceUri": self.communities.base + tarball_path(ns, name, version.version),
                "policy": {"uri": self.communities.version_url(policy.community, policy.document),
                           "digest": {"sha256": policy.document.sha256}},
                "inputAttestations": [{"uri": u, "digest": {"sha256": d}} for u, d in cited],
                "verificationResult": "PASSED" if verdict.passed else "FAILED",
                "verifiedLevels": sorted(verdict.required) if verdict.passed else [],
                REPORT_FIELD: package_verdict_to_json(verdict),
            },
        }  # fmt: skip
