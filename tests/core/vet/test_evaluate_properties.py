"""Properties of the evaluation over random audit graphs: it agrees with a plain
reachability oracle, the suggested audits always fix a failure, violations always win."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from hypothesis import given, settings
from hypothesis import strategies as st

from fpmreg.core.vet.audits import Audit
from fpmreg.core.vet.evaluate import PackageVerdict, Suggestion, evaluate_release
from fpmreg.core.vet.graph import Edge, independent_paths
from fpmreg.core.vet.policy import Quorum
from fpmreg.core.vet.refs import Release

from .builders import PKG, SAFE_DEPLOY, SAFE_RUN, delta, evidence, full, policy, rel, violation

VERSIONS = ["0.9.0", "1.0.0", "1.1.0", "1.2.0", "2.0.0", "2.1.0"]
AUDITORS = [f"https://reg.example/u/{n}" for n in ("alice", "bob", "carol", "dan")]
ORGS = ["https://reg.example/o/acme", "https://reg.example/o/initech"]
criteria = st.sampled_from([(SAFE_RUN,), (SAFE_DEPLOY,), (SAFE_RUN, SAFE_DEPLOY)])


@st.composite
def audit(draw: st.DrawFn) -> Audit:
    who = {
        "auditor": draw(st.sampled_from(AUDITORS)),
        "orgs": tuple(draw(st.sets(st.sampled_from(ORGS), max_size=2))),
        "salt": draw(st.sampled_from(["", "", "", "other-bytes"])),
    }
    target = draw(st.sampled_from(VERSIONS))
    if draw(st.booleans()):
        return full(target, *draw(criteria), **who)  # type: ignore[arg-type]
    return delta(draw(st.sampled_from(VERSIONS)), target, *draw(criteria), **who)


audit_sets = st.lists(audit(), max_size=12)
targets = st.sampled_from(VERSIONS).map(rel)
requirements = st.sampled_from([frozenset([SAFE_RUN]), frozenset([SAFE_DEPLOY])])


def _certifies(a: Audit, criterion: str) -> bool:
    return criterion in a.criteria or (criterion == SAFE_RUN and SAFE_DEPLOY in a.criteria)


def _oracle(audits: Sequence[Audit], target: Release, criterion: str) -> bool:
    """Reachability by fixed point over (version, digest) nodes, no graph library."""
    reached: set[Release | None] = {None}
    changed = True
    while changed:
        changed = False
        for a in audits:
            if _certifies(a, criterion) and a.base in reached and a.target not in reached:
                reached.add(a.target)
                changed = True
    return target in reached


@settings(max_examples=200, deadline=None)
@given(audits=audit_sets, target=targets, required=requirements)
def test_with_a_quorum_of_one_a_release_passes_exactly_when_a_chain_reaches_it(
    audits: list[Audit], target: Release, required: frozenset[str]
) -> None:
    verdict = evaluate_release(PKG, target, policy(root_criteria=required), evidence(*audits))
    assert verdict.passed == all(_oracle(audits, target, c) for c in required)
    assert verdict.passed == (not verdict.suggestions)


def _apply(suggestions: Sequence[Suggestion], quorum: Quorum) -> list[Audit]:
    """The audits a user would write after reading the suggestions: each by a new person
    of a new organisation."""
    written = []
    for n, s in enumerate(suggestions):
        for i in range(s.count):
            who = {
                "auditor": f"https://reg.example/u/new-{n}-{i}",
                "orgs": (f"https://reg.example/o/new-{n}-{i}",),
            }
            salt = "" if s.target.sha256 == rel(str(s.target.version)).sha256 else "other-bytes"
            if s.base is None:
                written.append(full(str(s.target.version), *s.criteria, salt=salt, **who))  # type: ignore[arg-type]
            else:
                made = delta(
                    str(s.base.version), str(s.target.version), *s.criteria, salt=salt, **who
                )  # type: ignore[arg-type]
                written.append(
                    Audit(
                        **{
                            **{k: getattr(made, k) for k in Audit.__dataclass_fields__},
                            "base": s.base,
                        }
                    )
                )
    return written


quorums = st.sampled_from([Quorum(1), Quorum(2), Quorum(2, True), Quorum(3, True)])


@settings(max_examples=200, deadline=None)
@given(audits=audit_sets, target=targets, required=requirements, quorum=quorums)
def test_writing_the_suggested_audits_makes_a_failing_release_pass(
    audits: list[Audit], target: Release, required: frozenset[str], quorum: Quorum
) -> None:
    rule = policy(root_criteria=required, quorum=quorum)
    verdict: PackageVerdict = evaluate_release(PKG, target, rule, evidence(*audits))
    if verdict.passed:
        return
    assert verdict.suggestions, verdict.reasons
    fixed = evaluate_release(
        PKG, target, rule, evidence(*audits, *_apply(verdict.suggestions, quorum))
    )
    assert fixed.passed, [r.message for r in fixed.reasons]


@given(audits=audit_sets, target=targets, required=requirements, quorum=quorums)
def test_a_violation_covering_the_release_always_fails_it(
    audits: list[Audit], target: Release, required: frozenset[str], quorum: Quorum
) -> None:
    bad = violation(f"={target.version}", SAFE_RUN)
    rule = policy(root_criteria=required, quorum=quorum)
    verdict = evaluate_release(PKG, target, rule, evidence(*audits, bad))
    assert not verdict.passed and verdict.suggestions == ()
    assert any(r.code == "vet-violation" for r in verdict.reasons)


@given(audits=audit_sets, target=targets, quorum=quorums)
def test_every_certification_cited_rests_on_audits_of_the_locked_bytes(
    audits: list[Audit], target: Release, quorum: Quorum
) -> None:
    verdict = evaluate_release(PKG, target, policy(quorum=quorum), evidence(*audits))
    by_id = {a.id: a for a in audits}
    ending = [by_id[i] for i in verdict.inputs if by_id[i].target == target]
    assert bool(ending) == verdict.passed


@settings(max_examples=200, deadline=None)
@given(audits=audit_sets, target=targets, count=st.integers(1, 3), distinct=st.booleans())
def test_independent_paths_share_no_auditor_and_each_names_its_own_organisation(
    audits: list[Audit], target: Release, count: int, distinct: bool
) -> None:
    edges = [
        Edge(a.id, a.base, a.target, a.criteria, a.auditor, a.organisations)
        for a in audits
        if a.target is not None
    ]
    paths = independent_paths(
        edges, target, SAFE_DEPLOY, frozenset(), count=count, distinct_organisations=distinct
    )
    assert len(paths) <= count
    seen: set[str] = set()
    orgs: list[frozenset[str]] = []
    for path in paths:
        assert path[0].base is None and path[-1].target == target
        assert all(a.target == b.base for a, b in itertools.pairwise(path))
        assert all(SAFE_DEPLOY in e.criteria for e in path)
        auditors = {e.auditor for e in path if e.auditor is not None}
        assert not auditors & seen
        seen |= auditors
        if distinct:
            orgs.append(frozenset.intersection(*(e.organisations for e in path)))
    # Each path can be labelled with an organisation all its audits share, all different.
    assert not orgs or any(len(set(pick)) == len(pick) for pick in itertools.product(*orgs))
