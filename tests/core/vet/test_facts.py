"""Policies that require facts the registry attests (docs/vetting.md, "Facts the
registry attests"): build verified, two-factor publishing, declared expectations."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fpmreg.core.vet.evaluate import Evidence, evaluate_release
from fpmreg.core.vet.policy import FACTS, PolicyError, parse_policy
from fpmreg.core.vet.refs import release_purl
from tests.core.vet.builders import NOW, OUR_GRAPH, OURS, PKG, SAFE_DEPLOY, full, rel

POLICY_ID = f"{OURS}/policies/default"
RELEASE = rel("1.0.0")
PURL = release_purl(PKG, RELEASE.version)


def policy(*facts: str, criteria: tuple[str, ...] = (SAFE_DEPLOY,)) -> dict[str, object]:
    return {
        "id": POLICY_ID,
        "community": OURS,
        "requires": {"roots": list(criteria)},
        "requiresFacts": list(facts),
    }


def evidence(facts: dict[tuple[str, str], frozenset[str]] | None, *audits: object) -> Evidence:
    return Evidence(audits=list(audits), now=NOW, graphs={OURS: OUR_GRAPH}, facts=facts)  # type: ignore[arg-type]


def test_a_policy_reads_the_facts_it_requires() -> None:
    read = parse_policy(policy("build-verified", "publisher-two-factor"))
    assert read.required_facts == {"build-verified", "publisher-two-factor"}


def test_an_unknown_fact_is_refused_naming_the_known_ones() -> None:
    with pytest.raises(PolicyError) as caught:
        parse_policy(policy("build-verified", "signed-by-santa"))
    (problem,) = caught.value.problems
    assert problem.code == "vet-fact-unknown"
    assert problem.field == "requiresFacts[1]"
    assert "`build-verified`" in problem.message and "signed-by-santa" in problem.message


def test_an_audited_release_without_the_attested_fact_fails_and_says_which() -> None:
    read = parse_policy(policy("build-verified"))
    verdict = evaluate_release(PKG, RELEASE, read, evidence({}, full("1.0.0")))
    assert not verdict.passed
    (missing,) = [r for r in verdict.reasons if r.code == "vet-fact-missing"]
    assert "`build-verified`" in missing.message


def test_the_fact_attested_for_these_bytes_lets_it_pass() -> None:
    read = parse_policy(policy("build-verified"))
    facts = {(PURL, RELEASE.sha256): frozenset({"build-verified"})}
    verdict = evaluate_release(PKG, RELEASE, read, evidence(facts, full("1.0.0")))
    assert verdict.passed, verdict.reasons


def test_a_fact_attested_for_other_bytes_does_not_count() -> None:
    read = parse_policy(policy("build-verified"))
    facts = {(PURL, "0" * 64): frozenset({"build-verified"})}
    verdict = evaluate_release(PKG, RELEASE, read, evidence(facts, full("1.0.0")))
    assert not verdict.passed


def test_facts_do_not_replace_audits() -> None:
    read = parse_policy(policy("build-verified"))
    facts = {(PURL, RELEASE.sha256): frozenset(FACTS)}
    verdict = evaluate_release(PKG, RELEASE, read, evidence(facts))
    assert not verdict.passed
    assert any(r.code == "vet-not-certified" for r in verdict.reasons)


def test_a_policy_of_facts_alone_needs_no_audit() -> None:
    read = parse_policy(policy("publisher-two-factor", criteria=()))
    facts = {(PURL, RELEASE.sha256): frozenset({"publisher-two-factor"})}
    assert evaluate_release(PKG, RELEASE, read, evidence(facts)).passed


def test_a_caller_that_did_not_ask_for_facts_cannot_evaluate_such_a_policy() -> None:
    read = parse_policy(policy("build-verified"))
    with pytest.raises(ValueError, match="attested facts"):
        evaluate_release(PKG, RELEASE, read, evidence(None, full("1.0.0")))


@given(
    required=st.sets(st.sampled_from(sorted(FACTS))),
    attested=st.sets(st.sampled_from(sorted(FACTS))),
)
def test_an_audited_release_passes_exactly_when_every_required_fact_is_attested(
    required: set[str], attested: set[str]
) -> None:
    read = parse_policy(policy(*sorted(required)))
    facts = {(PURL, RELEASE.sha256): frozenset(attested)}
    verdict = evaluate_release(PKG, RELEASE, read, evidence(facts, full("1.0.0")))
    assert verdict.passed == required.issubset(attested)
