"""Evaluate a lock against a policy: for each locked release, is it certified for the
criteria the policy requires, and if not, why, and which audits would fix it
(docs/vetting.md, "The algorithm")."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from fpmreg.core.vet.audits import Audit, Verdict
from fpmreg.core.vet.criteria import EMPTY_GRAPH, CriteriaGraph, translate, translate_violation
from fpmreg.core.vet.graph import (
    Cost,
    Edge,
    Node,
    cheapest_edge,
    find_path,
    independent_paths,
    version_steps,
)
from fpmreg.core.vet.policy import FACTS, Policy
from fpmreg.core.vet.refs import (
    SHA256,
    InvalidReference,
    PackageName,
    Release,
    parse_purl,
    release_purl,
)

# Ignored audits listed one by one in a verdict; the rest are counted.
MAX_IGNORED_REASONS = 10


@dataclass(frozen=True, slots=True)
class Reason:
    """One line of a verdict's explanation; `code` is stable, `message` for people."""

    code: str
    message: str


@dataclass(frozen=True, slots=True)
class Suggestion:
    """Audits that would make a failing release pass: `count` audits of `base` → `target`
    (a full audit when `base` is None), each certifying `criteria`."""

    package: PackageName
    base: Release | None
    target: Release
    criteria: frozenset[str]
    count: int = 1
    note: str = ""

    def __str__(self) -> str:
        many = "a" if self.count == 1 else str(self.count)
        kind = "full" if self.base is None else "delta"
        audits = "audit" if self.count == 1 else "audits"
        span = str(self.target.version)
        if self.base is not None:
            span = f"{self.base.version} → {span}"
        what = f"{many} {kind} {audits} of {self.package} {span}"
        text = f"{what} for {', '.join(f'`{c}`' for c in sorted(self.criteria))}"
        return text + (f", {self.note}" if self.note else "")


@dataclass(frozen=True, slots=True)
class LockEntry:
    """One locked dependency: `pkg:fpm/ns/name@version`, its sha256, test/dev or not."""

    purl: str
    sha256: str
    is_dev: bool = False


@dataclass(frozen=True, slots=True)
class PackageVerdict:
    """The verdict on one locked release, with every reason and the fixing audits."""

    purl: str
    sha256: str
    is_dev: bool
    passed: bool
    required: frozenset[str]
    reasons: tuple[Reason, ...]
    suggestions: tuple[Suggestion, ...] = ()
    inputs: tuple[str, ...] = ()  # the audits (and exemptions) the verdict rests on


@dataclass(frozen=True, slots=True)
class LockVerdict:
    """The verdict on a whole lock: it passes when every package does."""

    policy: str
    passed: bool
    packages: tuple[PackageVerdict, ...]

    def explain(self) -> str:
        """The verdict as text, one block per package, failures first."""
        lines = [f"policy `{self.policy}`: {'passed' if self.passed else 'FAILED'}"]
        for verdict in sorted(self.packages, key=lambda v: (v.passed, v.purl)):
            lines.append(f"{'ok  ' if verdict.passed else 'FAIL'} {verdict.purl}")
            lines += [f"     {r.message}" for r in verdict.reasons]
            lines += [f"     fix: {s}" for s in verdict.suggestions]
        return "\n".join(lines)


@dataclass(frozen=True)
class Evidence:
    """What a verdict may rest on: candidate audits (signatures already verified), each
    community's criteria, the trust distance of auditors, the time, and what a missing
    audit costs (for suggestions)."""

    audits: Sequence[Audit]
    now: datetime
    graphs: Mapping[str, CriteriaGraph] = field(default_factory=dict)
    trust: Mapping[str, int] | None = None
    cost: Cost = version_steps
    # The facts the registry attests, by release package URL (`pkg:fpm/ns/name@v`) and
    # tarball sha256; None when nobody asked the registry (docs/vetting.md, "Facts").
    facts: Mapping[tuple[str, str], frozenset[str]] | None = None

    def graph(self, community: str) -> CriteriaGraph:
        """The criteria `community` publishes (none known: an empty graph)."""
        return self.graphs.get(community, EMPTY_GRAPH)


@dataclass
class _Collected:
    edges: list[Edge] = field(default_factory=list)
    violations: list[tuple[Audit, frozenset[str]]] = field(default_factory=list)
    ignored: list[Reason] = field(default_factory=list)


def _why_ignored(audit: Audit, policy: Policy, evidence: Evidence) -> str | None:
    if policy.accepted(audit.community) is None:
        return f"its community `{audit.community}` is not one the policy accepts"
    if policy.max_trust_distance is not None:
        assert evidence.trust is not None
        distance = evidence.trust.get(audit.auditor)
        if distance is None or distance > policy.max_trust_distance:
            far = "is not trusted" if distance is None else f"is at trust distance {distance}"
            return f"its auditor {far} (the policy allows {policy.max_trust_distance})"
    if audit.verdict is Verdict.CERTIFY and not (
        audit.thoroughness.at_least(policy.min_thoroughness)
        and audit.understanding.at_least(policy.min_understanding)
    ):
        return (
            f"its thoroughness `{audit.thoroughness}` / understanding `{audit.understanding}` "
            f"are below the policy's `{policy.min_thoroughness}` / `{policy.min_understanding}`"
        )
    return None


def _criteria_of(audit: Audit, policy: Policy, evidence: Evidence) -> frozenset[str]:
    """Our criteria a certifying audit certifies, or a violation counts against."""
    ours = evidence.graph(policy.community)
    accepted = policy.accepted(audit.community)
    assert accepted is not None
    if audit.community == policy.community:
        if audit.verdict is Verdict.VIOLATION:
            return audit.criteria
        return ours.closure(audit.criteria)
    foreign = evidence.graph(audit.community)
    if audit.verdict is Verdict.VIOLATION:
        return translate_violation(audit.criteria, accepted.mappings, foreign=foreign)
    return translate(audit.criteria, accepted.mappings, foreign=foreign, ours=ours)


def _collect(
    package: PackageName, release: Release, policy: Policy, evidence: Evidence
) -> _Collected:
    out = _Collected()
    for audit in evidence.audits:
        if audit.package.key != package.key:
            continue
        why = _why_ignored(audit, policy, evidence)
        criteria = _criteria_of(audit, policy, evidence) if why is None else frozenset()
        if why is None and not criteria:
            why = "none of its criteria maps to a criterion of the policy's community"
        if why is not None:
            out.ignored.append(Reason("vet-audit-ignored", f"ignored {audit.describe()}: {why}"))
        elif audit.verdict is Verdict.VIOLATION:
            out.violations.append((audit, criteria))
        else:
            assert audit.target is not None
            if audit.target.version == release.version and audit.target.sha256 != release.sha256:
                out.ignored.append(
                    Reason(
                        "vet-digest-mismatch",
                        (
                            f"{audit.describe()} reviewed sha256 {audit.target.sha256[:12]}…,"
                            f" not the locked {release.sha256[:12]}…: it does not count for"
                            " these bytes"
                        ),
                    )
                )
            out.edges.append(
                Edge(
                    audit.id, audit.base, audit.target, criteria, audit.auditor, audit.organisations
                )
            )
    return out


def _exemptions(
    package: PackageName, nodes: set[Release], policy: Policy, evidence: Evidence
) -> tuple[list[Edge], list[Reason]]:
    edges: list[Edge] = []
    reasons: list[Reason] = []
    ours = evidence.graph(policy.community)
    for ex in policy.exemptions:
        for node in sorted(nodes, key=str):
            if not ex.covers(package, node.version, node.sha256):
                continue
            label = f"exemption of {package} {ex.version}"
            if ex.expires is not None and ex.expires <= evidence.now:
                reasons.append(
                    Reason("vet-exemption-expired", f"{label} expired on {ex.expires.isoformat()}")
                )
                continue
            edges.append(Edge(label, None, node, ours.closure(ex.criteria)))
    return edges, reasons


def _blocked(
    criterion: str, nodes: set[Release], collected: _Collected, ours: CriteriaGraph
) -> dict[Release, Audit]:
    """The releases a violation rules out for `criterion`, each with that violation."""
    needed = ours.closure([criterion])
    out: dict[Release, Audit] = {}
    for audit, violated in collected.violations:
        if needed & violated:
            assert audit.violation is not None
            out |= {n: audit for n in nodes if audit.violation.matches(n.version)}
    return out


def _describe_path(path: list[Edge]) -> str:
    steps = ["empty package"] + [f"{e.target.version} ({e.source})" for e in path]
    return " → ".join(steps)


@dataclass
class _Outcome:
    reasons: list[Reason] = field(default_factory=list)
    inputs: list[str] = field(default_factory=list)
    uncertified: list[str] = field(default_factory=list)
    short: dict[str, list[list[Edge]]] = field(default_factory=dict)


def _check_criterion(
    criterion: str,
    release: Release,
    edges: list[Edge],
    blocked: frozenset[Release],
    policy: Policy,
    out: _Outcome,
) -> None:
    quorum = policy.quorum
    paths = independent_paths(
        edges,
        release,
        criterion,
        blocked,
        count=quorum.count,
        distinct_organisations=quorum.distinct_organisations,
    )
    if len(paths) >= quorum.count:
        for path in paths[: quorum.count]:
            out.reasons.append(Reason("vet-certified", f"`{criterion}`: {_describe_path(path)}"))
            out.inputs += [e.source for e in path if e.source not in out.inputs]
        return
    if not paths:
        out.uncertified.append(criterion)
        out.reasons.append(_uncertified(criterion, release, edges, blocked, policy))
        return
    out.short[criterion] = paths
    kind = (
        "from distinct organisations" if quorum.distinct_organisations else "by distinct auditors"
    )
    out.reasons.append(
        Reason(
            "vet-quorum-not-met",
            (
                f"`{criterion}`: {len(paths)} of the {quorum.count} independent certifications "
                f"{kind} the policy asks for: " + "; ".join(_describe_path(p) for p in paths)
            ),
        )
    )


def _uncertified(
    criterion: str, release: Release, edges: list[Edge], blocked: frozenset[Release], policy: Policy
) -> Reason:
    """Why no certification counts: no chain at all, or none the quorum may count."""
    where = f"{release.version} with sha256 {release.sha256[:12]}…"
    if find_path(edges, release, criterion, blocked) is None:
        return Reason(
            "vet-not-certified",
            f"`{criterion}`: no chain of audits leads from the empty package to {where}",
        )
    return Reason(
        "vet-quorum-not-met",
        f"`{criterion}`: audits lead to {where}, but no chain whose audits all come from "
        "auditors of one organisation, as the policy's quorum of distinct organisations needs",
    )


def _suggest(
    package: PackageName,
    release: Release,
    edges: list[Edge],
    blocks: dict[str, frozenset[Release]],
    policy: Policy,
    out: _Outcome,
    cost: Cost,
) -> list[Suggestion]:
    """The fewest audits that make the release pass. With a quorum of one: the cheapest
    single audit linking what is already certified to the release. With a larger quorum,
    extra chains must share no auditor, so the honest advice is full audits by people
    (or organisations) not counted yet; a delta would lean on auditors already used."""
    quorum = policy.quorum
    distinct = quorum.distinct_organisations
    if quorum.count == 1:
        blocked = frozenset().union(*(blocks[c] for c in out.uncertified))
        base, end = cheapest_edge(edges, release, out.uncertified, blocked, cost)
        return [Suggestion(package, base, end, frozenset(out.uncertified))]
    found: list[Suggestion] = []
    if out.uncertified:
        note = (
            "each by an auditor of another organisation" if distinct else "each by another auditor"
        )
        found.append(
            Suggestion(package, None, release, frozenset(out.uncertified), quorum.count, note)
        )
    for criterion, paths in sorted(out.short.items()):
        used = sorted({e.auditor for p in paths for e in p if e.auditor is not None})
        orgs = sorted({o for p in paths for e in p for o in e.organisations})
        others = ", ".join(f"`{x}`" for x in (orgs if distinct else used))
        what = "an organisation" if distinct else "an auditor"
        note = f"each by {what} other than {others}" if others else f"each by another {what[3:]}"
        found.append(
            Suggestion(
                package, None, release, frozenset([criterion]), quorum.count - len(paths), note
            )
        )
    return _merged(found)


def _merged(suggestions: list[Suggestion]) -> list[Suggestion]:
    """One suggestion per distinct audit to write, with the union of its criteria."""
    merged: dict[tuple[Node, Release, int, str], frozenset[str]] = {}
    for s in suggestions:
        key = (s.base, s.target, s.count, s.note)
        merged[key] = merged.get(key, frozenset()) | s.criteria
    return [
        Suggestion(suggestions[0].package, b, t, c, n, note)
        for (b, t, n, note), c in merged.items()
    ]


def _violated(
    package: PackageName,
    release: Release,
    required: frozenset[str],
    blockers: dict[str, dict[Release, Audit]],
) -> list[Reason]:
    reasons = []
    for criterion in sorted(required):
        audit = blockers[criterion].get(release)
        if audit is not None:
            reasons.append(
                Reason(
                    "vet-violation",
                    (
                        f"`{criterion}`: {audit.describe()} says {package} "
                        f"{audit.violation} fails it; "
                        "no audit or exemption overrides a violation: choose a version outside the "
                        "range, or take it up with the auditor and the community"
                    ),
                )
            )
    return reasons


def evaluate_release(
    package: PackageName,
    release: Release,
    policy: Policy,
    evidence: Evidence,
    *,
    is_dev: bool = False,
) -> PackageVerdict:
    """The verdict on one release: certified for every criterion the policy requires
    (roots' or dev dependencies'), by its quorum of independent audit chains, with no
    violation covering it. Explains each criterion and suggests the cheapest fix."""
    if policy.max_trust_distance is not None and evidence.trust is None:
        raise ValueError("the policy limits trust distance: pass the auditors' distances")
    required = policy.dev_criteria if is_dev else policy.root_criteria
    purl = release_purl(package, release.version)
    collected = _collect(package, release, policy, evidence)
    nodes = {release} | {e.target for e in collected.edges}
    nodes |= {e.base for e in collected.edges if e.base is not None}
    extra, expired = _exemptions(package, nodes, policy, evidence)
    edges = collected.edges + extra
    ours = evidence.graph(policy.community)
    blockers = {c: _blocked(c, nodes, collected, ours) for c in required}
    blocks = {c: frozenset(b) for c, b in blockers.items()}
    ignored = _bounded(collected.ignored) + expired
    violations = _violated(package, release, required, blockers)
    if violations:
        return PackageVerdict(
            purl, release.sha256, is_dev, False, required, tuple(violations + ignored)
        )
    out = _Outcome()
    missing = _missing_facts(purl, release, policy, evidence, out)
    for criterion in sorted(required):
        _check_criterion(criterion, release, edges, blocks[criterion], policy, out)
    if not required and not policy.required_facts:
        out.reasons.append(Reason("vet-nothing-required", "the policy requires no criteria here"))
    passed = not out.uncertified and not out.short and not missing
    suggestions = (
        [] if passed else _suggest(package, release, edges, blocks, policy, out, evidence.cost)
    )
    return PackageVerdict(
        purl,
        release.sha256,
        is_dev,
        passed,
        required,
        tuple(out.reasons + ignored),
        tuple(suggestions),
        tuple(out.inputs),
    )


def _missing_facts(
    purl: str, release: Release, policy: Policy, evidence: Evidence, out: _Outcome
) -> bool:
    """Whether a fact the policy requires is not attested for these bytes; each one
    required is explained in `out` (docs/vetting.md, "Facts the registry attests")."""
    if not policy.required_facts:
        return False
    if evidence.facts is None:
        raise ValueError("the policy requires attested facts: pass the releases' facts")
    attested = evidence.facts.get((purl, release.sha256), frozenset())
    missing = False
    for fact in sorted(policy.required_facts):
        if fact in attested:
            out.reasons.append(Reason("vet-fact-attested", f"`{fact}`: {FACTS[fact]}"))
        else:
            missing = True
            out.reasons.append(
                Reason(
                    "vet-fact-missing",
                    f"`{fact}` is required and the registry does not attest it for "
                    f"these bytes (it would say: {FACTS[fact]})",
                )
            )
    return missing


def _bounded(reasons: list[Reason]) -> list[Reason]:
    if len(reasons) <= MAX_IGNORED_REASONS:
        return reasons
    more = len(reasons) - MAX_IGNORED_REASONS
    summary = Reason("vet-audit-ignored", f"and {more:,} more audits of this package were ignored")
    return [*reasons[:MAX_IGNORED_REASONS], summary]


def evaluate_lock(entries: Sequence[LockEntry], policy: Policy, evidence: Evidence) -> LockVerdict:
    """The verdict on every locked package; the lock passes when all of them pass."""
    verdicts = []
    for entry in entries:
        try:
            package, version = parse_purl(entry.purl, versioned=True)
            if not SHA256.fullmatch(entry.sha256):
                raise InvalidReference(f"`{entry.sha256[:80]}` is not a sha256 (64 hex digits)")
        except InvalidReference as error:
            reason = Reason("vet-lock-invalid", f"this lock entry cannot be vetted: {error}")
            verdicts.append(
                PackageVerdict(
                    entry.purl, entry.sha256, entry.is_dev, False, frozenset(), (reason,)
                )
            )
            continue
        assert version is not None
        release = Release(version, entry.sha256)
        verdicts.append(evaluate_release(package, release, policy, evidence, is_dev=entry.is_dev))
    return LockVerdict(policy.id, all(v.passed for v in verdicts), tuple(verdicts))
