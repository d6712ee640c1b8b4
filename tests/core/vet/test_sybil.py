"""A Sybil attack: 1,000 fake accounts certify each other and a malicious release, and
smear an honest one with violations.

The trust metric accepts at most the documented bound of them, and a policy with a trust
threshold gives the same verdicts as before the attack (docs/vetting.md, "Trust")."""

from __future__ import annotations

import pytest

from fpmreg.core.vet.evaluate import Evidence, evaluate_release
from fpmreg.core.vet.policy import Quorum
from fpmreg.core.vet.trust import (
    TrustLevel,
    TrustStatement,
    advogato,
    sybil_bound,
    worst_case_bound,
)

from .builders import PKG, evidence, full, policy, rel, violation

H = TrustLevel.HIGH
FOUNDERS = [f"https://reg.example/u/founder-{i}" for i in range(3)]
MEMBERS = [f"https://reg.example/u/member-{i}" for i in range(10)]  # distance 1
NEWCOMERS = [f"https://reg.example/u/newcomer-{i}" for i in range(30)]  # distance 2
FAKES = [f"https://evil.example/u/fake-{i}" for i in range(1000)]
HONEST_ORGS = ["https://reg.example/o/acme", "https://reg.example/o/initech"]


def _honest_web() -> list[TrustStatement]:
    said = []
    for i, member in enumerate(MEMBERS):
        said += [
            TrustStatement(FOUNDERS[i % 3], member, H),
            TrustStatement(FOUNDERS[(i + 1) % 3], member, H),
        ]
    for i, newcomer in enumerate(NEWCOMERS):
        said += [
            TrustStatement(MEMBERS[i % 10], newcomer, H),
            TrustStatement(MEMBERS[(i + 3) % 10], newcomer, H),
        ]
    return said


def _fake_web() -> list[TrustStatement]:
    """Every fake certifies the next 10, and every tenth vouches for a founder (free)."""
    said = [
        TrustStatement(f, FAKES[(i + j) % len(FAKES)], H)
        for i, f in enumerate(FAKES)
        for j in range(1, 11)
    ]
    return said + [TrustStatement(f, FOUNDERS[0], H) for f in FAKES[::10]]


def _audits() -> list[object]:
    honest = [
        full("1.0.0", auditor=MEMBERS[0], orgs=(HONEST_ORGS[0],)),
        full("1.0.0", auditor=NEWCOMERS[5], orgs=(HONEST_ORGS[1],)),
    ]
    # The malicious 6.6.6 is certified by every fake, each from a fake organisation.
    fake = [
        full("6.6.6", auditor=f, orgs=(f"https://evil.example/o/{i}",)) for i, f in enumerate(FAKES)
    ]
    # And a fifth of them claim the honest 1.0.0 violates safe-to-run.
    smear = [violation("=1.0.0", auditor=f) for f in FAKES[::5]]
    return honest + fake + smear


def _verdicts(trust: dict[str, int]) -> dict[tuple[str, str], bool]:
    ev: Evidence = evidence(*_audits(), trust=trust)  # type: ignore[arg-type]
    rules = {
        "near": policy(max_trust_distance=2),
        "two-orgs": policy(max_trust_distance=2, quorum=Quorum(2, distinct_organisations=True)),
    }
    return {
        (name, version): evaluate_release(PKG, rel(version), rule, ev).passed
        for name, rule in rules.items()
        for version in ("1.0.0", "6.6.6")
    }


@pytest.mark.parametrize("k", [1, 3, 10])
def test_a_thousand_fakes_gain_at_most_the_bound_and_move_no_verdict(
    k: int, capsys: pytest.CaptureFixture[str]
) -> None:
    before = advogato(_honest_web(), FOUNDERS)
    # k confused newcomers (distance 2) each certify one fake: the attack edges.
    attack = [(NEWCOMERS[i], FAKES[i * 97]) for i in range(k)]
    said = _honest_web() + _fake_web() + [TrustStatement(h, f, H) for h, f in attack]
    after = advogato(said, FOUNDERS)
    accepted_fakes = after.accepted & set(FAKES)
    bound = sybil_bound(after, attack)
    with capsys.disabled():
        print(
            f"\nSybil attack, k={k} attack edges from distance-2 members: "
            f"{len(accepted_fakes)} of {len(FAKES)} fakes accepted, bound {bound} "
            f"(sum of capacity - 1 over the attacked members)"
        )
    assert len(accepted_fakes) <= bound
    assert bound == k * (after.capacity[NEWCOMERS[0]] - 1) == worst_case_bound(k, min_distance=2)
    # The fakes are all further out than any honest member the policy trusts.
    assert min(after.distance[f] for f in accepted_fakes) > 2
    assert _verdicts(after.distances()) == _verdicts(before.distances())
    assert _verdicts(after.distances()) == {
        ("near", "1.0.0"): True,
        ("near", "6.6.6"): False,
        ("two-orgs", "1.0.0"): True,
        ("two-orgs", "6.6.6"): False,
    }


def test_without_a_trust_threshold_the_same_fakes_would_pass_the_release() -> None:
    """The control: what the threshold protects against is real."""
    ev = evidence(*_audits())  # type: ignore[arg-type]
    assert evaluate_release(PKG, rel("6.6.6"), policy(), ev).passed
    assert evaluate_release(PKG, rel("6.6.6"), policy(quorum=Quorum(2, True)), ev).passed
    assert not evaluate_release(PKG, rel("1.0.0"), policy(), ev).passed  # smeared
