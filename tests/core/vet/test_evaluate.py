"""Evaluating releases and locks against a policy: paths of audits, violations,
exemptions, communities, thoroughness, trust, quorums, and the audits that would fix it."""

from __future__ import annotations

from datetime import timedelta

import pytest

from fpmreg.core.versions import Version
from fpmreg.core.vet.audits import Level
from fpmreg.core.vet.criteria import CriteriaGraph, CriteriaMapping, Criterion
from fpmreg.core.vet.evaluate import LockEntry, evaluate_lock, evaluate_release
from fpmreg.core.vet.policy import AcceptedCommunity, Exemption, Quorum

from .builders import (
    NOW,
    OUR_GRAPH,
    OURS,
    PKG,
    SAFE_DEPLOY,
    SAFE_RUN,
    THEIRS,
    delta,
    evidence,
    full,
    policy,
    rel,
    sha,
    violation,
)

ALICE, BOB = "https://reg.example/u/alice", "https://reg.example/u/bob"
ACME, INITECH = "https://reg.example/o/acme", "https://reg.example/o/initech"


def codes(verdict: object) -> set[str]:
    return {r.code for r in verdict.reasons}  # type: ignore[attr-defined]


def test_a_full_audit_of_the_locked_bytes_certifies_the_release() -> None:
    audit = full("1.0.0")
    verdict = evaluate_release(PKG, rel("1.0.0"), policy(), evidence(audit))
    assert verdict.passed and verdict.inputs == (audit.id,)
    assert any("empty package → 1.0.0" in r.message for r in verdict.reasons)


def test_an_audit_of_other_bytes_does_not_count_and_says_so() -> None:
    audit = full("1.0.0", salt="tampered")
    verdict = evaluate_release(PKG, rel("1.0.0"), policy(), evidence(audit))
    assert not verdict.passed
    assert {"vet-digest-mismatch", "vet-not-certified"} <= codes(verdict)
    [fix] = verdict.suggestions
    assert fix.base is None and fix.target == rel("1.0.0")
    assert str(fix) == f"a full audit of {PKG} 1.0.0 for `{SAFE_DEPLOY}`"


def test_a_chain_of_delta_audits_certifies_a_new_release() -> None:
    audits = [full("1.0.0"), delta("1.0.0", "1.1.0", auditor=BOB), delta("1.1.0", "1.2.0")]
    verdict = evaluate_release(PKG, rel("1.2.0"), policy(), evidence(*audits))
    assert verdict.passed and set(verdict.inputs) == {a.id for a in audits}


def test_a_delta_may_go_backwards() -> None:
    audits = [full("2.0.0"), delta("2.0.0", "1.9.0")]
    assert evaluate_release(PKG, rel("1.9.0"), policy(), evidence(*audits)).passed


def test_the_suggestion_is_the_smallest_delta_from_the_nearest_audited_version() -> None:
    audits = [full("1.0.0"), full("1.3.0"), delta("1.0.0", "1.1.0")]
    verdict = evaluate_release(PKG, rel("1.4.0"), policy(), evidence(*audits))
    [fix] = verdict.suggestions
    assert (fix.base, fix.target) == (rel("1.3.0"), rel("1.4.0"))
    assert str(fix).startswith(f"a delta audit of {PKG} 1.3.0 → 1.4.0")


def test_a_suggestion_may_end_where_an_existing_delta_continues() -> None:
    # 1.1 → 1.2 exists but 1.1 is unaudited: auditing 1.0 → 1.1 completes the chain.
    audits = [full("1.0.0"), delta("1.1.0", "1.2.0")]
    [fix] = evaluate_release(PKG, rel("1.2.0"), policy(), evidence(*audits)).suggestions
    assert (fix.base, fix.target) == (rel("1.0.0"), rel("1.1.0"))


def test_a_delta_audit_certifying_a_weaker_criterion_breaks_the_chain() -> None:
    audits = [full("1.0.0"), delta("1.0.0", "1.1.0", SAFE_RUN)]
    verdict = evaluate_release(PKG, rel("1.1.0"), policy(), evidence(*audits))
    assert not verdict.passed
    as_dev = evaluate_release(PKG, rel("1.1.0"), policy(), evidence(*audits), is_dev=True)
    assert as_dev.passed  # dev dependencies only need safe-to-run, which deploy implies


def test_a_violation_overrides_every_certification_and_exemption_in_its_range() -> None:
    exempt = Exemption(PKG, Version(1, 1, 0), frozenset([SAFE_DEPLOY]))
    audits = [full("1.1.0"), violation("<1.2", SAFE_RUN)]
    verdict = evaluate_release(PKG, rel("1.1.0"), policy(exemptions=(exempt,)), evidence(*audits))
    assert not verdict.passed and "vet-violation" in codes(verdict)
    assert verdict.suggestions == ()
    # safe-to-deploy implies safe-to-run, so violating the weaker one fails both.
    message = next(r.message for r in verdict.reasons if r.code == "vet-violation")
    assert "<1.2" in message and "choose a version outside the range" in message


def test_a_chain_cannot_pass_through_a_violated_version() -> None:
    audits = [full("1.0.0"), delta("1.0.0", "1.1.0"), delta("1.1.0", "1.2.0"), violation("=1.1.0")]
    ev = evidence(*audits)
    assert evaluate_release(PKG, rel("1.0.0"), policy(), ev).passed
    verdict = evaluate_release(PKG, rel("1.2.0"), policy(), ev)
    assert not verdict.passed
    [fix] = verdict.suggestions
    assert (fix.base, fix.target) == (rel("1.0.0"), rel("1.2.0"))


def test_an_exemption_passes_until_it_expires() -> None:
    later = Exemption(PKG, Version(1, 0, 0), frozenset([SAFE_DEPLOY]), NOW + timedelta(days=1))
    gone = Exemption(PKG, Version(1, 0, 0), frozenset([SAFE_DEPLOY]), NOW - timedelta(days=1))
    assert evaluate_release(PKG, rel("1.0.0"), policy(exemptions=(later,)), evidence()).passed
    verdict = evaluate_release(PKG, rel("1.0.0"), policy(exemptions=(gone,)), evidence())
    assert not verdict.passed and "vet-exemption-expired" in codes(verdict)


def test_an_exempted_version_can_root_a_delta_chain_but_only_for_its_bytes() -> None:
    exempt = Exemption(PKG, Version(1, 0, 0), frozenset([SAFE_DEPLOY]), sha256=sha("1.0.0"))
    audits = [delta("1.0.0", "1.1.0")]
    assert evaluate_release(
        PKG, rel("1.1.0"), policy(exemptions=(exempt,)), evidence(*audits)
    ).passed
    other = Exemption(PKG, Version(1, 0, 0), frozenset([SAFE_DEPLOY]), sha256=sha("1.0.0", "x"))
    assert not evaluate_release(
        PKG, rel("1.1.0"), policy(exemptions=(other,)), evidence(*audits)
    ).passed


def _foreign_graph() -> CriteriaGraph:
    return CriteriaGraph((Criterion(f"{THEIRS}/reviewed", implies=frozenset([SAFE_DEPLOY])),))


def test_a_foreign_audit_counts_only_from_an_accepted_community_through_a_mapping() -> None:
    audit = full("1.0.0", f"{THEIRS}/reviewed", community=THEIRS)
    graphs = {OURS: OUR_GRAPH, THEIRS: _foreign_graph()}
    ev = evidence(audit, graphs=graphs)
    not_accepted = evaluate_release(PKG, rel("1.0.0"), policy(), ev)
    assert not not_accepted.passed
    assert any("is not one the policy accepts" in r.message for r in not_accepted.reasons)
    # Their own `implies` of our criterion is not enough: only a mapping translates.
    unmapped = policy(accept=(AcceptedCommunity(THEIRS),))
    verdict = evaluate_release(PKG, rel("1.0.0"), unmapped, ev)
    assert not verdict.passed and any("maps to a criterion" in r.message for r in verdict.reasons)
    mapping = CriteriaMapping(f"{THEIRS}/reviewed", SAFE_DEPLOY)
    mapped = policy(accept=(AcceptedCommunity(THEIRS, (mapping,)),))
    assert evaluate_release(PKG, rel("1.0.0"), mapped, ev).passed


def test_a_foreign_violation_counts_through_the_mapping() -> None:
    mapping = CriteriaMapping(f"{THEIRS}/reviewed", SAFE_DEPLOY)
    accepted = policy(accept=(AcceptedCommunity(THEIRS, (mapping,)),))
    bad = violation("*", f"{THEIRS}/reviewed", community=THEIRS)
    verdict = evaluate_release(PKG, rel("1.0.0"), accepted, evidence(full("1.0.0"), bad))
    assert not verdict.passed and "vet-violation" in codes(verdict)


def test_audits_below_the_minimum_thoroughness_are_ignored() -> None:
    shallow = full("1.0.0", thoroughness=Level.LOW)
    strict = policy(min_thoroughness=Level.MEDIUM)
    verdict = evaluate_release(PKG, rel("1.0.0"), strict, evidence(shallow))
    assert not verdict.passed and any("thoroughness `low`" in r.message for r in verdict.reasons)
    assert evaluate_release(PKG, rel("1.0.0"), policy(), evidence(shallow)).passed


def test_audits_by_auditors_beyond_the_trust_distance_are_ignored() -> None:
    near = policy(max_trust_distance=2)
    audit = full("1.0.0", auditor=BOB)
    assert evaluate_release(PKG, rel("1.0.0"), near, evidence(audit, trust={BOB: 2})).passed
    far = evaluate_release(PKG, rel("1.0.0"), near, evidence(audit, trust={BOB: 3}))
    assert not far.passed and any("trust distance 3" in r.message for r in far.reasons)
    unknown = evaluate_release(PKG, rel("1.0.0"), near, evidence(audit, trust={}))
    assert any("is not trusted" in r.message for r in unknown.reasons)
    with pytest.raises(ValueError, match="distances"):
        evaluate_release(PKG, rel("1.0.0"), near, evidence(audit))


def test_two_audits_from_one_organisation_do_not_meet_a_two_organisation_quorum() -> None:
    two_orgs = policy(quorum=Quorum(2, distinct_organisations=True))
    same = [full("1.0.0", auditor=ALICE, orgs=(ACME,)), full("1.0.0", auditor=BOB, orgs=(ACME,))]
    verdict = evaluate_release(PKG, rel("1.0.0"), two_orgs, evidence(*same))
    assert not verdict.passed and "vet-quorum-not-met" in codes(verdict)
    [fix] = verdict.suggestions
    assert fix.count == 1 and fix.base is None and ACME in fix.note
    apart = [
        full("1.0.0", auditor=ALICE, orgs=(ACME,)),
        full("1.0.0", auditor=BOB, orgs=(INITECH,)),
    ]
    assert evaluate_release(PKG, rel("1.0.0"), two_orgs, evidence(*apart)).passed


def test_one_person_in_two_organisations_is_not_a_quorum_of_two() -> None:
    two_orgs = policy(quorum=Quorum(2, distinct_organisations=True))
    alone = [full("1.0.0", auditor=ALICE, orgs=(ACME, INITECH))]
    assert not evaluate_release(PKG, rel("1.0.0"), two_orgs, evidence(*alone)).passed
    twice = policy(quorum=Quorum(2))
    again = [
        full("1.0.0", auditor=ALICE),
        delta("0.9.0", "1.0.0", auditor=ALICE),
        full("0.9.0", auditor=ALICE),
    ]
    assert not evaluate_release(PKG, rel("1.0.0"), twice, evidence(*again)).passed


def test_an_organisation_quorum_counts_chains_within_each_organisation() -> None:
    two_orgs = policy(quorum=Quorum(2, distinct_organisations=True))
    audits = [
        full("1.0.0", auditor=ALICE, orgs=(ACME,)),
        delta("1.0.0", "1.1.0", auditor="https://reg.example/u/ann", orgs=(ACME,)),
        full("1.1.0", auditor=BOB, orgs=(INITECH,)),
    ]
    verdict = evaluate_release(PKG, rel("1.1.0"), two_orgs, evidence(*audits))
    assert verdict.passed and len(verdict.inputs) == 3


def test_an_unaudited_release_under_a_quorum_asks_for_that_many_full_audits() -> None:
    verdict = evaluate_release(PKG, rel("1.0.0"), policy(quorum=Quorum(3, True)), evidence())
    [fix] = verdict.suggestions
    assert fix.count == 3 and "another organisation" in fix.note


def test_a_lock_passes_only_when_every_package_does_and_explains_each_failure() -> None:
    other = full("2.0.0", package=PKG.__class__("jacobwilliams", "json-fortran"))
    entries = [
        LockEntry("pkg:fpm/fortran-lang/stdlib@1.0.0", sha("1.0.0")),
        LockEntry("pkg:fpm/jacobwilliams/json-fortran@2.0.0", sha("2.0.0"), is_dev=True),
        LockEntry("pkg:fpm/toml-f/toml-f@0.4.0", sha("0.4.0")),
        LockEntry("npm:left-pad", sha("1")),
    ]
    verdict = evaluate_lock(entries, policy(), evidence(full("1.0.0"), other))
    assert not verdict.passed
    passed = {v.purl: v.passed for v in verdict.packages}
    assert passed == {
        "pkg:fpm/fortran-lang/stdlib@1.0.0": True,
        "pkg:fpm/jacobwilliams/json-fortran@2.0.0": True,
        "pkg:fpm/toml-f/toml-f@0.4.0": False,
        "npm:left-pad": False,
    }
    text = verdict.explain()
    assert text.splitlines()[0].endswith("FAILED")
    assert "fix: a full audit of toml-f/toml-f 0.4.0" in text
    assert "cannot be vetted" in text
    assert evaluate_lock(entries[:2], policy(), evidence(full("1.0.0"), other)).passed


def test_a_chain_mixing_organisations_is_not_counted_by_an_organisation_quorum() -> None:
    two_orgs = policy(quorum=Quorum(2, distinct_organisations=True))
    audits = [
        full("1.0.0", auditor=ALICE, orgs=(ACME,)),
        delta("1.0.0", "1.1.0", auditor=BOB, orgs=(INITECH,)),
    ]
    verdict = evaluate_release(PKG, rel("1.1.0"), two_orgs, evidence(*audits))
    assert not verdict.passed
    message = next(r.message for r in verdict.reasons if r.code == "vet-quorum-not-met")
    assert "no chain whose audits all come from auditors of one organisation" in message
    [fix] = verdict.suggestions
    assert str(fix) == (
        f"2 full audits of {PKG} 1.1.0 for `{SAFE_DEPLOY}`, "
        "each by an auditor of another organisation"
    )
    assert evaluate_release(PKG, rel("1.1.0"), policy(), evidence(*audits)).passed


def test_across_a_breaking_version_a_full_audit_is_suggested_instead_of_a_delta() -> None:
    [fix] = evaluate_release(PKG, rel("2.0.0"), policy(), evidence(full("1.9.0"))).suggestions
    assert fix.base is None
    [fix] = evaluate_release(PKG, rel("0.5.0"), policy(), evidence(full("0.4.0"))).suggestions
    assert fix.base is None
    [fix] = evaluate_release(PKG, rel("0.4.3"), policy(), evidence(full("0.4.0"))).suggestions
    assert fix.base == rel("0.4.0")
