"""Maximum flow by Edmonds-Karp (Ford-Fulkerson with shortest augmenting paths), for the
trust metric in `fpmreg.core.vet.trust`. Nodes are strings; capacities whole numbers."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

# An edge nothing can saturate: more than the sum of every finite capacity will ever be.
INFINITE = 10**18


@dataclass
class FlowNetwork:
    """A directed graph with capacities, and the flow `max_flow` found on it."""

    capacity: dict[str, dict[str, int]] = field(default_factory=dict)
    flow: dict[str, dict[str, int]] = field(default_factory=dict)

    def add_edge(self, a: str, b: str, capacity: int) -> None:
        """An edge a → b; adding it again adds to its capacity."""
        if capacity < 0:
            raise ValueError("a capacity is never negative")
        self.capacity.setdefault(a, {})[b] = self.capacity.get(a, {}).get(b, 0) + capacity
        self.capacity.setdefault(b, {}).setdefault(a, 0)  # the residual edge back

    def residual(self, a: str, b: str) -> int:
        """What more can flow a → b (pushing back flow b → a counts)."""
        return self.capacity[a][b] - self.flow.get(a, {}).get(b, 0)

    def _push(self, a: str, b: str, amount: int) -> None:
        self.flow.setdefault(a, {})[b] = self.flow.get(a, {}).get(b, 0) + amount
        self.flow.setdefault(b, {})[a] = self.flow.get(b, {}).get(a, 0) - amount

    def _shortest_path(self, source: str, sink: str) -> dict[str, str] | None:
        parent: dict[str, str] = {source: source}
        queue = deque([source])
        while queue:
            node = queue.popleft()
            for nxt in self.capacity.get(node, {}):
                if nxt not in parent and self.residual(node, nxt) > 0:
                    parent[nxt] = node
                    if nxt == sink:
                        return parent
                    queue.append(nxt)
        return None

    def max_flow(self, source: str, sink: str) -> int:
        """Push as much as possible from `source` to `sink`; returns the amount.
        Each round augments along a shortest residual path (Edmonds-Karp), so the
        number of rounds is bounded by the graph, not by the capacities."""
        total = 0
        while (parent := self._shortest_path(source, sink)) is not None:
            path = [sink]
            while path[-1] != source:
                path.append(parent[path[-1]])
            hops = list(zip(path[:0:-1], path[-2::-1], strict=True))
            amount = min(self.residual(a, b) for a, b in hops)
            for a, b in hops:
                self._push(a, b, amount)
            total += amount
        return total

    def sent(self, a: str, b: str) -> int:
        """The flow on a → b after `max_flow`."""
        return max(0, self.flow.get(a, {}).get(b, 0))
