"""The audit graph of one package: paths from the empty package to a release, and the
cheapest audits that would make one (cargo-vet's resolver and `suggest`, adapted to
releases bound to their sha256; docs/vetting.md, "The algorithm").

Nodes are releases (version + sha256) and `ROOT`, the empty package. A full audit is an
edge ROOT → release, a delta audit an edge base → target, an exemption an edge ROOT →
release without an auditor.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from fpmreg.core.vet.refs import Release

Node = Release | None
ROOT: Node = None
# What one missing audit costs to write: the registry can pass the size of the diff;
# the default counts version steps, and a full audit costs more than any delta.
Cost = Callable[[Node, Release], int]
FULL_AUDIT_COST = 10**40


@dataclass(frozen=True, slots=True)
class Edge:
    """One usable audit (or exemption) and the criteria of ours it certifies."""

    source: str  # the audit id, or a description of the exemption
    base: Node
    target: Release
    criteria: frozenset[str]
    auditor: str | None = None  # None for an exemption: no person to count twice
    organisations: frozenset[str] = frozenset()


def version_steps(base: Node, target: Release) -> int:
    """The default cost, from versions alone: a delta costs more the further apart its
    versions are (major steps before minor before patch) and less than a full audit,
    unless it crosses a compatibility boundary (another major version, or another minor
    of 0.x, as `^` reads them), where code is often rewritten: then a full look is the
    better advice. Two tarballs of one version are not a diff to suggest either."""
    if base is None:
        return FULL_AUDIT_COST
    if base.version == target.version:
        return 2 * FULL_AUDIT_COST
    (a, b, c), (x, y, z) = base.version.key, target.version.key
    steps = abs(a - x) * 10**20 + abs(b - y) * 10**10 + abs(c - z)
    compatible = a == x and (a > 0 or b == y)
    return steps if compatible else FULL_AUDIT_COST + steps


def _usable(edges: Iterable[Edge], criterion: str, blocked: frozenset[Release]) -> list[Edge]:
    return [
        e
        for e in edges
        if criterion in e.criteria and e.target not in blocked and e.base not in blocked
    ]


def find_path(
    edges: Iterable[Edge], target: Release, criterion: str, blocked: frozenset[Release]
) -> list[Edge] | None:
    """The path ROOT → `target` with fewest audits, each certifying `criterion` and
    none touching a `blocked` release; None when there is none."""
    outgoing: dict[Node, list[Edge]] = {}
    for edge in _usable(edges, criterion, blocked):
        outgoing.setdefault(edge.base, []).append(edge)
    came: dict[Node, Edge | None] = {ROOT: None}
    queue: deque[Node] = deque([ROOT])
    while queue:
        node = queue.popleft()
        if node == target:
            break
        for edge in sorted(outgoing.get(node, ()), key=lambda e: e.source):
            if edge.target not in came:
                came[edge.target] = edge
                queue.append(edge.target)
    if target not in came:
        return None
    path: list[Edge] = []
    step = came[target]
    while step is not None:
        path.append(step)
        step = came[step.base]
    return path[::-1]


def reachable(
    edges: Iterable[Edge],
    start: Node,
    criterion: str,
    blocked: frozenset[Release],
    *,
    forward: bool,
) -> set[Node]:
    """Every node reachable from `start` (forward) or that reaches it (backward)."""
    links: dict[Node, list[Node]] = {}
    for e in _usable(edges, criterion, blocked):
        a, b = (e.base, e.target) if forward else (e.target, e.base)
        links.setdefault(a, []).append(b)
    seen, stack = {start}, [start]
    while stack:
        for nxt in links.get(stack.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                stack.append(nxt)
    return seen


def independent_paths(
    edges: Sequence[Edge],
    target: Release,
    criterion: str,
    blocked: frozenset[Release],
    *,
    count: int,
    distinct_organisations: bool,
) -> list[list[Edge]]:
    """Up to `count` paths to `target` that share no auditor; with
    `distinct_organisations`, each path's audits all come from one organisation, a
    different one per path. Greedy (shortest path first, then remove its auditors): it
    may miss a quorum a cleverer choice would meet, never claims one that is not met."""
    paths: list[list[Edge]] = []
    used: set[str] = set()
    groups: list[str | None] = [None] * count
    if distinct_organisations:
        groups = [*sorted({o for e in edges for o in e.organisations})]
    for group in groups:
        if len(paths) == count:
            break
        allowed = [
            e
            for e in edges
            if e.auditor is None
            or (e.auditor not in used and (group is None or group in e.organisations))
        ]
        path = find_path(allowed, target, criterion, blocked)
        if path is None:
            continue
        paths.append(path)
        used.update(e.auditor for e in path if e.auditor is not None)
    if distinct_organisations and len(paths) < count:
        exempt = find_path([e for e in edges if e.auditor is None], target, criterion, blocked)
        paths.extend([exempt] * (count - len(paths)) if exempt is not None else [])
    return paths


def cheapest_edge(
    edges: Sequence[Edge],
    target: Release,
    criteria: Iterable[str],
    blocked: frozenset[Release],
    cost: Cost = version_steps,
) -> tuple[Node, Release]:
    """(base, end) of the cheapest single audit that would certify every one of
    `criteria` for `target`: from a node already reachable from ROOT for all of them
    (ROOT itself: a full audit) to one that already reaches `target` for all of them
    (`target` itself, most often)."""
    starts: set[Node] | None = None
    ends: set[Node] | None = None
    for criterion in criteria:
        fwd = reachable(edges, ROOT, criterion, blocked, forward=True)
        back = reachable(edges, target, criterion, blocked, forward=False)
        starts = fwd if starts is None else starts & fwd
        ends = back if ends is None else ends & back
    options = [
        (cost(a, b), str(a), str(b), a, b)
        for a in (starts or {ROOT})
        for b in (ends or {target})
        if b is not None and a != b
    ]
    best = min(options, key=lambda o: o[:3])
    return best[3], best[4]
