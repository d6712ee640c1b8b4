"""Reviewer trust: statements between actors, the Advogato max-flow trust metric seeded
by a community's founders with its bound on accepted fake accounts, and a reviewer's
track record as a score (docs/vetting.md, "Trust").
"""

from __future__ import annotations

import heapq
import math
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from fpmreg.core.vet.flow import INFINITE, FlowNetwork

# Capacity of an actor by distance from the nearest founder (founders are at 0); beyond
# the end of the list the last value holds. A steep fall in the manner of Advogato's
# deployment: founders vouch for many, newcomers far out for no one but themselves.
DEFAULT_CAPACITIES = (800, 200, 200, 50, 12, 4, 2, 1)
# An audit accepted and later contradicted cost the community more than one rejected at
# the door: it weighs as this many rejections in the score.
CONTRADICTED_WEIGHT = 2.0
# The score's confidence: 1.96 standard deviations, a 95% lower bound.
SCORE_Z = 1.96

_SOURCE, _SINK = "source", "sink"
# crev's distance costs per trust level: trusting highly is free, trusting a little is far.
DEFAULT_COSTS = {"high": 0, "medium": 1, "low": 5}
DEFAULT_MAX_DISTANCE = 10


class TrustLevel(StrEnum):
    """How much one actor trusts another (crev's levels)."""

    DISTRUST = "distrust"
    NONE = "none"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"

    @property
    def rank(self) -> int:
        """-1 for `distrust`, 0 for `none`, up to 3 for `high`."""
        return _TRUST_ORDER.index(self) - 1


_TRUST_ORDER = tuple(TrustLevel)


@dataclass(frozen=True, slots=True)
class TrustStatement:
    """`truster` trusts `trustee` at `level`, in `scope` (a criterion or community URI)
    or everywhere (None). Of several statements about one pair, the last one counts."""

    truster: str
    trustee: str
    level: TrustLevel
    scope: str | None = None
    reason: str = ""


@dataclass(frozen=True)
class TrustResult:
    """The outcome of the trust metric: who is accepted, and how it got there."""

    accepted: frozenset[str]
    distance: Mapping[str, int]  # hops from the nearest founder, for every reachable actor
    capacity: Mapping[str, int]  # each reachable actor's capacity, from its distance
    expelled: frozenset[str]  # actors a founder distrusts
    flow: int

    def distances(self) -> dict[str, int]:
        """Accepted actors and their distance: what a policy's `maxTrustDistance` reads."""
        return {a: self.distance[a] for a in sorted(self.accepted)}


def effective_levels(
    statements: Iterable[TrustStatement], scope: str | None = None
) -> dict[tuple[str, str], TrustLevel]:
    """The level each truster gives each trustee in `scope`: statements for every scope
    and for this one apply; a later statement about the same pair replaces an earlier one
    (so `none` withdraws trust). Self-trust is ignored."""
    levels: dict[tuple[str, str], TrustLevel] = {}
    for s in statements:
        if s.truster != s.trustee and s.scope in (None, scope):
            levels[(s.truster, s.trustee)] = s.level
    return levels


def _distances(founders: Iterable[str], edges: Mapping[str, list[str]]) -> dict[str, int]:
    distance = {f: 0 for f in founders}
    queue = deque(sorted(distance))
    while queue:
        node = queue.popleft()
        for nxt in edges.get(node, ()):
            if nxt not in distance:
                distance[nxt] = distance[node] + 1
                queue.append(nxt)
    return distance


def advogato(
    statements: Iterable[TrustStatement],
    founders: Iterable[str],
    *,
    level: TrustLevel = TrustLevel.LOW,
    scope: str | None = None,
    capacities: Sequence[int] = DEFAULT_CAPACITIES,
) -> TrustResult:
    """Levien's Advogato trust metric: the actors accepted at `level` in `scope`.

    Edges are statements at `level` or above. Each actor gets a capacity by its distance
    from the founders; it is split into x⁻ → x⁺ with capacity - 1 and x⁻ → sink with 1
    (the unit it keeps for itself); statements are x⁺ → y⁻ edges without limit; the
    founders are fed from the source. After a maximum flow, the accepted actors are those
    whose unit reached the sink. Founders' `distrust` expels an actor; anyone else's
    `distrust` only withdraws their own statement, so accepted fakes cannot expel honest
    members."""
    if not capacities or any(c < 1 for c in capacities):
        raise ValueError("capacities are whole numbers, at least 1")
    seeds = frozenset(founders)
    levels = effective_levels(statements, scope)
    expelled = (
        frozenset(b for (a, b), lv in levels.items() if a in seeds and lv is TrustLevel.DISTRUST)
        - seeds
    )
    edges: dict[str, list[str]] = {}
    for (a, b), lv in sorted(levels.items()):
        if lv.rank >= max(level.rank, 1) and a not in expelled and b not in expelled:
            edges.setdefault(a, []).append(b)
    distance = _distances(seeds, edges)
    capacity = {a: capacities[min(d, len(capacities) - 1)] for a, d in distance.items()}
    network = FlowNetwork()
    for actor in sorted(distance):
        if actor in seeds:
            network.add_edge(_SOURCE, "in:" + actor, INFINITE)
        network.add_edge("in:" + actor, _SINK, 1)
        network.add_edge("in:" + actor, "out:" + actor, capacity[actor] - 1)
        for trustee in edges.get(actor, ()):
            network.add_edge("out:" + actor, "in:" + trustee, INFINITE)
    flow = network.max_flow(_SOURCE, _SINK) if seeds else 0
    accepted = frozenset(a for a in distance if network.sent("in:" + a, _SINK) == 1)
    return TrustResult(accepted, distance, capacity, expelled, flow)


def weighted_distances(
    statements: Iterable[TrustStatement],
    roots: Iterable[str],
    *,
    scope: str | None = None,
    costs: Mapping[str, int] = DEFAULT_COSTS,
    max_distance: int = DEFAULT_MAX_DISTANCE,
    within: frozenset[str] | None = None,
) -> dict[str, int]:
    """A consumer's web of trust in crev's manner: the cheapest total cost from `roots`
    (the consumer and whom they chose) to each actor, each statement costing by its level,
    at most `max_distance`. With `within` (say, the actors a community's metric accepted),
    nobody outside it is reached. Roots' `distrust` excludes an actor, as in `advogato`."""
    seeds = frozenset(roots)
    levels = effective_levels(statements, scope)
    banned = {b for (a, b), lv in levels.items() if a in seeds and lv is TrustLevel.DISTRUST}
    edges: dict[str, list[tuple[int, str]]] = {}
    for (a, b), lv in levels.items():
        if str(lv) in costs and b not in banned and (within is None or b in within):
            edges.setdefault(a, []).append((costs[str(lv)], b))
    best = {r: 0 for r in seeds}
    heap = [(0, r) for r in sorted(seeds)]
    while heap:
        dist, actor = heapq.heappop(heap)
        if dist > best.get(actor, max_distance + 1):
            continue
        for cost, nxt in edges.get(actor, ()):
            if cost < 0:
                raise ValueError("a distance cost is never negative")
            if dist + cost <= max_distance and dist + cost < best.get(nxt, max_distance + 1):
                best[nxt] = dist + cost
                heapq.heappush(heap, (dist + cost, nxt))
    return dict(sorted(best.items()))


def sybil_bound(result: TrustResult, attack_edges: Iterable[tuple[str, str]]) -> int:
    """How many fake accounts the metric can accept at most, given the attack edges
    (honest actor, fake actor): the sum, over the distinct honest actors with an attack
    edge, of their capacity minus one.

    Why: all flow a fake account keeps entered the fake region through an attack edge
    x⁺ → s⁻, and x⁺ receives at most capacity(x) - 1 (its own unit goes to the sink).
    It holds however the fakes certify each other and whatever they certify back; the
    capacities are those of this run. Coarser but needing only k, the number of attack
    edges: at most k * (capacities[0] - 1)."""
    attacked = {honest for honest, _ in attack_edges}
    return sum(max(0, result.capacity.get(x, 0) - 1) for x in attacked)


def worst_case_bound(
    attack_edges: int, *, min_distance: int = 0, capacities: Sequence[int] = DEFAULT_CAPACITIES
) -> int:
    """The bound knowing only how many attack edges there are and that they start at
    honest actors `min_distance` or more hops from the founders: each such actor passes at
    most capacity(min_distance) - 1, so at most that many fakes per attack edge."""
    if attack_edges < 0 or min_distance < 0:
        raise ValueError("counts and distances are never negative")
    return attack_edges * (capacities[min(min_distance, len(capacities) - 1)] - 1)


@dataclass(frozen=True, slots=True)
class TrackRecord:
    """A reviewer's audits as their communities decided them: accepted, rejected, and
    (among the accepted) later contradicted by a violation or a revocation."""

    accepted: int = 0
    rejected: int = 0
    contradicted: int = 0

    def __post_init__(self) -> None:
        if min(self.accepted, self.rejected, self.contradicted) < 0:
            raise ValueError("a track record counts audits: never negative")
        if self.contradicted > self.accepted:
            raise ValueError("only accepted audits can later be contradicted")


def reviewer_score(record: TrackRecord) -> float:
    """A score in [0, 1): the lower bound of the 95% Wilson interval of the share of
    good outcomes, where good = accepted and never contradicted, bad = rejected plus
    `CONTRADICTED_WEIGHT` per contradicted audit. No history scores 0; a long clean record
    scores near 1; three out of three scores below three hundred out of three hundred."""
    good = record.accepted - record.contradicted
    bad = record.rejected + CONTRADICTED_WEIGHT * record.contradicted
    n = good + bad
    if good == 0:
        return 0.0  # exactly: the formula would leave a rounding crumb above zero
    p, z2 = good / n, SCORE_Z**2
    centre = p + z2 / (2 * n)
    margin = SCORE_Z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n))
    return max(0.0, (centre - margin) / (1 + z2 / n))
