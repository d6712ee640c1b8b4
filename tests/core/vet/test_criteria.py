"""Criteria: implies closure (cycles included) and translation between communities."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fpmreg.core.vet.criteria import (
    CriteriaError,
    CriteriaGraph,
    CriteriaMapping,
    Criterion,
    parse_criterion,
    parse_mapping,
    translate,
    translate_violation,
)

URIS = [f"urn:c:{i}" for i in range(8)]
edges = st.lists(st.tuples(st.sampled_from(URIS), st.sampled_from(URIS)), max_size=30)


def _graph(pairs: list[tuple[str, str]]) -> CriteriaGraph:
    return CriteriaGraph(tuple(Criterion(a, implies=frozenset([b])) for a, b in pairs))


def _reachable(pairs: list[tuple[str, str]], start: str) -> set[str]:
    """Reference closure by repeated relaxation (Warshall), independent of the DFS."""
    seen = {start}
    changed = True
    while changed:
        changed = False
        for a, b in pairs:
            if a in seen and b not in seen:
                seen.add(b)
                changed = True
    return seen


@given(pairs=edges, start=st.sets(st.sampled_from(URIS), max_size=3))
def test_closure_is_exactly_what_the_premises_reach(
    pairs: list[tuple[str, str]], start: set[str]
) -> None:
    graph = _graph(pairs)
    expected = set().union(*(_reachable(pairs, s) for s in start)) if start else set()
    assert graph.closure(start) == expected


@given(pairs=edges, start=st.sets(st.sampled_from(URIS), max_size=3))
def test_closure_is_closed_and_idempotent(pairs: list[tuple[str, str]], start: set[str]) -> None:
    graph = _graph(pairs)
    closed = graph.closure(start)
    assert start <= closed
    assert graph.closure(closed) == closed
    assert all(b in closed for a, b in pairs if a in closed)


def test_a_cycle_of_implications_terminates_and_is_an_equivalence() -> None:
    graph = _graph([("urn:a", "urn:b"), ("urn:b", "urn:c"), ("urn:c", "urn:a")])
    assert graph.closure(["urn:b"]) == {"urn:a", "urn:b", "urn:c"}
    assert graph.implies("urn:c", "urn:b") and graph.implies("urn:a", "urn:a")


def test_implied_by_walks_implications_backwards() -> None:
    graph = _graph([("urn:deploy", "urn:run"), ("urn:formal", "urn:deploy")])
    assert graph.implied_by(["urn:run"]) == {"urn:run", "urn:deploy", "urn:formal"}


def test_a_foreign_criterion_counts_only_through_a_mapping() -> None:
    foreign = _graph([("urn:their:deep", "urn:their:basic"), ("urn:their:basic", "urn:our:deploy")])
    ours = _graph([("urn:our:deploy", "urn:our:run")])
    # Their `implies` reaching into our URI does not certify it for us.
    assert translate(["urn:their:deep"], [], foreign=foreign, ours=ours) == frozenset()
    mapped = translate(
        ["urn:their:deep"],
        [CriteriaMapping("urn:their:basic", "urn:our:run")],
        foreign=foreign,
        ours=ours,
    )
    assert mapped == {"urn:our:run"}
    full = translate(
        ["urn:their:deep"],
        [CriteriaMapping("urn:their:deep", "urn:our:deploy")],
        foreign=foreign,
        ours=ours,
    )
    assert full == {"urn:our:deploy", "urn:our:run"}


def test_a_foreign_violation_fails_what_maps_from_anything_implying_it() -> None:
    foreign = _graph([("urn:their:deep", "urn:their:basic")])
    mappings = [CriteriaMapping("urn:their:deep", "urn:our:deploy")]
    # Failing `basic` fails `deep` (which implies it), and `deep` maps to our `deploy`.
    assert translate_violation(["urn:their:basic"], mappings, foreign=foreign) == {"urn:our:deploy"}
    assert translate_violation(["urn:their:other"], mappings, foreign=foreign) == frozenset()


def test_criteria_and_mappings_parse_from_json() -> None:
    c = parse_criterion(
        {"id": "https://x.example/c/safe", "description": "d", "implies": "urn:run"}
    )
    assert c == Criterion("https://x.example/c/safe", "d", frozenset(["urn:run"]))
    assert parse_mapping({"from": "urn:a", "to": "urn:b"}) == CriteriaMapping("urn:a", "urn:b")


def test_a_bad_criterion_lists_every_problem() -> None:
    with pytest.raises(CriteriaError) as caught:
        parse_criterion({"id": "not a uri", "description": 3, "implies": ["urn:ok", ""]})
    fields = {p.field for p in caught.value.problems}
    assert fields == {"id", "description", "implies[1]"}
    with pytest.raises(CriteriaError):
        parse_mapping(["urn:a", "urn:b"])
