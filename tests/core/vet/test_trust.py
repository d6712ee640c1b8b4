"""The trust metric: maximum flow, Advogato acceptance, its bound on fake accounts, and
reviewers' track records."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fpmreg.core.vet.flow import FlowNetwork
from fpmreg.core.vet.trust import (
    TrackRecord,
    TrustLevel,
    TrustStatement,
    advogato,
    effective_levels,
    reviewer_score,
    sybil_bound,
    weighted_distances,
)

H, M, L = TrustLevel.HIGH, TrustLevel.MEDIUM, TrustLevel.LOW
NODES = ["s", "a", "b", "c", "d", "t"]
arcs = st.lists(
    st.tuples(st.sampled_from(NODES), st.sampled_from(NODES), st.integers(0, 9)), max_size=15
)


def _min_cut(edges: list[tuple[str, str, int]]) -> int:
    inner = NODES[1:-1]
    best = None
    for size in range(len(inner) + 1):
        for side in itertools.combinations(inner, size):
            left = {"s", *side}
            cut = sum(c for a, b, c in edges if a in left and b not in left and a != b)
            best = cut if best is None else min(best, cut)
    assert best is not None
    return best


@given(edges=arcs)
def test_the_maximum_flow_equals_the_minimum_cut(edges: list[tuple[str, str, int]]) -> None:
    network = FlowNetwork()
    for a, b, c in edges:
        if a != b:
            network.add_edge(a, b, c)
    value = network.max_flow("s", "t") if "s" in network.capacity and "t" in network.capacity else 0
    assert value == _min_cut(edges)


people = [f"urn:p:{i}" for i in range(10)]
statements = st.lists(
    st.builds(
        TrustStatement,
        st.sampled_from(people),
        st.sampled_from(people),
        st.sampled_from(list(TrustLevel)),
    ),
    max_size=40,
)


@given(said=statements, founders=st.sets(st.sampled_from(people), min_size=1, max_size=2))
def test_accepted_actors_are_reachable_and_each_holds_one_unit_of_flow(
    said: list[TrustStatement], founders: set[str]
) -> None:
    result = advogato(said, founders, capacities=(4, 3, 2, 1))
    assert founders <= result.accepted <= set(result.distance)
    assert result.flow == len(result.accepted)


def test_capacity_falls_with_distance_and_limits_a_long_chain() -> None:
    chain = [f"urn:p:{i}" for i in range(6)]
    said = [TrustStatement(a, b, H) for a, b in itertools.pairwise(chain)]
    result = advogato(said, [chain[0]], capacities=(3, 2, 1))
    # The founder keeps one unit and passes 2; the next keeps one and passes 1; the third
    # (capacity 1) keeps its unit and passes nothing on.
    assert result.accepted == set(chain[:3])
    assert [result.capacity[p] for p in chain] == [3, 2, 1, 1, 1, 1]


def test_only_statements_at_the_level_count() -> None:
    said = [TrustStatement("urn:f", "urn:a", H), TrustStatement("urn:a", "urn:b", L)]
    assert advogato(said, ["urn:f"], level=M).accepted == {"urn:f", "urn:a"}
    assert advogato(said, ["urn:f"], level=L).accepted == {"urn:f", "urn:a", "urn:b"}


def test_a_founders_distrust_expels_but_anyone_elses_only_withdraws_their_own_trust() -> None:
    said = [
        TrustStatement("urn:f", "urn:a", H),
        TrustStatement("urn:f", "urn:b", H),
        TrustStatement("urn:a", "urn:c", H),
        TrustStatement("urn:b", "urn:c", H),
        TrustStatement("urn:b", "urn:a", TrustLevel.DISTRUST),
    ]
    assert advogato(said, ["urn:f"]).accepted == {"urn:f", "urn:a", "urn:b", "urn:c"}
    expelled = advogato([*said, TrustStatement("urn:f", "urn:c", TrustLevel.DISTRUST)], ["urn:f"])
    assert "urn:c" not in expelled.accepted and expelled.expelled == {"urn:c"}


def test_a_later_statement_replaces_an_earlier_one_and_scopes_apply_only_to_themselves() -> None:
    scope = "https://reg.example/criteria/numerics"
    said = [
        TrustStatement("urn:f", "urn:a", H),
        TrustStatement("urn:f", "urn:a", TrustLevel.NONE),
        TrustStatement("urn:f", "urn:b", H, scope=scope),
    ]
    assert effective_levels(said)[("urn:f", "urn:a")] is TrustLevel.NONE
    assert advogato(said, ["urn:f"]).accepted == {"urn:f"}
    assert advogato(said, ["urn:f"], scope=scope).accepted == {"urn:f", "urn:b"}


@settings(max_examples=150, deadline=None)
@given(
    honest=statements,
    fakes=st.lists(st.tuples(st.integers(0, 19), st.integers(0, 19)), max_size=60),
    attacks=st.lists(
        st.tuples(st.sampled_from(people), st.integers(0, 19)), min_size=1, max_size=4
    ),
    back=st.lists(st.tuples(st.integers(0, 19), st.sampled_from(people)), max_size=4),
)
def test_never_more_fakes_are_accepted_than_the_bound(
    honest: list[TrustStatement],
    fakes: list[tuple[int, int]],
    attacks: list[tuple[str, int]],
    back: list[tuple[int, str]],
) -> None:
    fake = [f"urn:fake:{i}" for i in range(20)]
    said = honest + [TrustStatement(fake[a], fake[b], H) for a, b in fakes]
    said += [TrustStatement(h, fake[s], H) for h, s in attacks]
    said += [TrustStatement(fake[s], h, H) for s, h in back]  # fakes vouching for honest people
    result = advogato(said, [people[0]], capacities=(20, 8, 4, 2, 1))
    accepted_fakes = len(result.accepted & set(fake))
    assert accepted_fakes <= sybil_bound(result, [(h, fake[s]) for h, s in attacks])


@given(a=st.integers(0, 500), r=st.integers(0, 500), c=st.integers(0, 500), more=st.integers(1, 50))
def test_a_reviewer_score_rises_with_accepted_audits_and_falls_with_bad_ones(
    a: int, r: int, c: int, more: int
) -> None:
    c = min(c, a)
    score = reviewer_score(TrackRecord(a, r, c))
    assert 0.0 <= score < 1.0
    assert reviewer_score(TrackRecord(a + more, r, c)) >= score
    assert reviewer_score(TrackRecord(a, r + more, c)) <= score
    if c + more <= a:
        assert reviewer_score(TrackRecord(a, r, c + more)) <= score


def test_a_long_clean_record_outscores_a_short_one_and_no_record_scores_zero() -> None:
    assert reviewer_score(TrackRecord()) == 0.0
    assert reviewer_score(TrackRecord(300)) > reviewer_score(TrackRecord(3)) > 0.0
    # A contradiction weighs more than a rejection.
    assert reviewer_score(TrackRecord(10, 1, 0)) > reviewer_score(TrackRecord(11, 0, 1))
    with pytest.raises(ValueError, match="only accepted audits"):
        TrackRecord(1, 0, 2)


def test_weighted_distances_add_up_the_cost_of_each_level() -> None:
    said = [
        TrustStatement("urn:me", "urn:a", H),
        TrustStatement("urn:a", "urn:b", M),
        TrustStatement("urn:b", "urn:c", L),
        TrustStatement("urn:me", "urn:c", L),
        TrustStatement("urn:c", "urn:d", L),
    ]
    assert weighted_distances(said, ["urn:me"]) == {
        "urn:me": 0,
        "urn:a": 0,
        "urn:b": 1,
        "urn:c": 5,
        "urn:d": 10,
    }
    assert "urn:d" not in weighted_distances(said, ["urn:me"], max_distance=9)
    assert weighted_distances(said, ["urn:me"], within=frozenset({"urn:a"})) == {
        "urn:me": 0,
        "urn:a": 0,
    }
    banned = [*said, TrustStatement("urn:me", "urn:b", TrustLevel.DISTRUST)]
    assert weighted_distances(banned, ["urn:me"])["urn:c"] == 5  # only via the direct low


@given(said=statements, root=st.sampled_from(people))
def test_weighted_distances_are_shortest_paths(said: list[TrustStatement], root: str) -> None:
    found = weighted_distances(said, [root], max_distance=1_000)
    levels = effective_levels(said)
    banned = {b for (a, b), lv in levels.items() if a == root and lv is TrustLevel.DISTRUST}
    costs = {"high": 0, "medium": 1, "low": 5}
    assert found[root] == 0 and not banned & set(found)
    for (a, b), level in levels.items():
        if a in found and str(level) in costs and b not in banned and b != root:
            assert found[b] <= found[a] + costs[str(level)]
