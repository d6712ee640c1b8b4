"""Policies read from plain JSON, with every problem reported at once."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from fpmreg.core.versions import Version
from fpmreg.core.vet.audits import Level
from fpmreg.core.vet.criteria import CriteriaMapping
from fpmreg.core.vet.evaluate import evaluate_release
from fpmreg.core.vet.policy import PolicyError, Quorum, parse_policy

from .builders import OURS, PKG, SAFE_DEPLOY, SAFE_RUN, THEIRS, evidence, rel, sha


def _policy_json() -> dict[str, object]:
    return {
        "id": f"{OURS}/policies/strict",
        "community": OURS,
        "requires": {"roots": [SAFE_DEPLOY], "dev": [SAFE_RUN]},
        "acceptFrom": [
            {"community": THEIRS, "mappings": [{"from": f"{THEIRS}/reviewed", "to": SAFE_DEPLOY}]}
        ],
        "minThoroughness": "medium",
        "minUnderstanding": "low",
        "quorum": {"count": 2, "distinctOrganisations": True},
        "maxTrustDistance": 3,
        "exemptions": [
            {
                "purl": "pkg:fpm/fortran-lang/stdlib@0.5.0",
                "criteria": [SAFE_DEPLOY],
                "expires": "2027-06-30T00:00:00Z",
                "sha256": sha("0.5.0"),
                "notes": "legacy, replaced by 1.0",
            }
        ],
    }


def test_a_policy_reads_every_rule() -> None:
    policy = parse_policy(_policy_json())
    assert policy.root_criteria == {SAFE_DEPLOY} and policy.dev_criteria == {SAFE_RUN}
    assert policy.accept[0].mappings == (CriteriaMapping(f"{THEIRS}/reviewed", SAFE_DEPLOY),)
    assert (policy.min_thoroughness, policy.min_understanding) == (Level.MEDIUM, Level.LOW)
    assert policy.quorum == Quorum(2, True) and policy.max_trust_distance == 3
    [exemption] = policy.exemptions
    assert exemption.version == Version(0, 5, 0)
    assert exemption.expires == datetime(2027, 6, 30, tzinfo=UTC)


def test_a_parsed_policy_exempts_what_it_says() -> None:
    policy = parse_policy(_policy_json())
    assert evaluate_release(PKG, rel("0.5.0"), policy, evidence(trust={})).passed
    assert not evaluate_release(PKG, rel("0.5.0", "x"), policy, evidence(trust={})).passed


def test_every_problem_of_a_bad_policy_is_reported_at_once() -> None:
    raw = _policy_json() | {
        "id": "strict",
        "requires": {"roots": ["not a uri"]},
        "acceptFrom": [{"community": THEIRS, "mappings": [{"from": "urn:a"}]}],
        "quorum": {"count": 0},
        "maxTrustDistance": -1,
        "minThoroughness": "total",
        "exemptions": [{"purl": "pkg:fpm/a/b", "criteria": [], "expires": "tomorrow"}],
    }
    with pytest.raises(PolicyError) as caught:
        parse_policy(raw)
    fields = {p.field for p in caught.value.problems}
    assert {
        "id",
        "roots[0]",
        "acceptFrom[0].mappings[0].to",
        "quorum",
        "maxTrustDistance",
        "minThoroughness",
        "exemptions[0].purl",
        "exemptions[0].expires",
    } <= fields


def test_an_expiry_without_a_time_zone_is_refused() -> None:
    raw = _policy_json()
    raw["exemptions"] = [
        {"purl": "pkg:fpm/a/b@1.0.0", "criteria": [], "expires": "2027-01-01T00:00:00"}
    ]
    with pytest.raises(PolicyError, match="with a zone"):
        parse_policy(raw)


@pytest.mark.parametrize("raw", [None, [], "policy"])
def test_something_that_is_not_an_object_is_refused(raw: object) -> None:
    with pytest.raises(PolicyError, match="must be a JSON object"):
        parse_policy(raw)
