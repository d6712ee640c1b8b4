"""The resolver's state and how it words a conflict: who needs what, and why it fails.

`ResolverState` holds the index read so far (one `Pool` per package), what each name is
required to be (`Slot`), the decisions made, and the conflicts met; `fpmreg.core.resolve`
runs the search over it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass, field

from fpmreg.core.lockfile import Lock
from fpmreg.core.manifest import DependencyKind, Manifest
from fpmreg.core.problem import Problem
from fpmreg.core.resolve_index import Index, IndexVersion
from fpmreg.core.versions import InvalidRequirement, InvalidVersion, Requirement, Version

# How many conflicts are kept while searching (a failed search can visit many).
MAX_CONFLICTS_KEPT = 50
# Versions listed in "no version matches (available: ...)".
MAX_VERSIONS_SHOWN = 5


@dataclass(frozen=True, slots=True)
class Need:
    """A requirement on a name, and who has it (`origin` None: the root project)."""

    origin: str | None
    namespace: str
    requirement: Requirement
    depth: int
    scope: str = "dependencies"


@dataclass(frozen=True, slots=True)
class Edge:
    """A dependency of a candidate: the name, its namespace and the requirement."""

    name: str
    namespace: str
    requirement: Requirement


@dataclass(slots=True)
class Candidate:
    """One version of a package, its dependencies read when first tried."""

    namespace: str
    name: str
    version: Version
    entry: IndexVersion
    edges: tuple[Edge, ...] = ()
    unlocked: tuple[str, ...] = ()  # git/path dependencies, which fpm fetches itself
    broken: str = ""  # why its metadata is unusable
    read: bool = False


@dataclass(slots=True)
class Pool:
    """The versions of one package, in the order they are tried."""

    every: list[Candidate]  # newest first, yanked included
    allowed: list[Candidate]  # in preference order, yanked only when locked


@dataclass(slots=True)
class Slot:
    """What a name must satisfy: the needs on it, stacked as they were added."""

    needs: list[Need] = field(default_factory=list)
    domains: list[list[Candidate]] = field(default_factory=list)
    depths: list[int] = field(default_factory=list)


@dataclass(slots=True)
class Level:
    """One decision of the search: the versions left to try and whom to blame."""

    name: str
    domain: list[Candidate]
    conflict: set[str]
    trail_mark: int
    tried: int = 0


def table_name(scope: str) -> str:
    """`[dependencies]`, or `[[executable]] `app`` for a target's table."""
    kind, _, target = scope.partition(":")
    return f"[[{kind}]] `{target}`" if target else f"[{scope}]"


class ResolverState:
    """The search's state, the index as read so far, and the wording of conflicts."""

    def __init__(
        self, root: Manifest, index: Index, locked: Lock | None, update: set[str] | None
    ) -> None:
        self.root = root
        self.index = index
        self.locked = locked
        self.update = frozenset(update or ())
        self.pools: dict[tuple[str, str], Pool] = {}
        self.slots: dict[str, Slot] = {}
        self.decided: dict[str, Candidate] = {}
        self.pending: set[str] = set()
        self.trail: list[str] = []
        self.conflicts: dict[str, None] = {}
        self.weak_conflicts: dict[str, None] = {}
        self.problems: list[Problem] = []
        self.attempts = 0  # versions tried: what backjumping keeps small
        # Names the root takes from git or a path: fpm uses those for every package that
        # asks for the name, so registry requests for them are not resolved.
        self.external: dict[str, str] = {}

    # -- the index, read once per package, sorted so listing order does not matter --

    def pool(self, namespace: str, name: str) -> Pool:
        key = (namespace, name)
        pool = self.pools.get(key)
        if pool is not None:
            return pool
        by_version: dict[Version, Candidate] = {}
        entries = sorted(
            self.index.versions(namespace, name), key=lambda e: (e.yanked, e.sha256, e.version)
        )
        for entry in entries:
            try:
                version = Version.parse(entry.version)
            except InvalidVersion:
                continue  # the registry refuses these; nothing fpm could fetch either
            by_version.setdefault(version, Candidate(namespace, name, version, entry))
        every = sorted(by_version.values(), key=lambda c: c.version, reverse=True)
        lock = self.locked.get(name) if self.locked else None
        locked_version = None
        if lock is not None and lock.namespace == namespace:
            with contextlib.suppress(InvalidVersion):  # `loads` refuses these already
                locked_version = Version.parse(lock.version)
        keep = locked_version is not None and name not in self.update
        first = [c for c in every if keep and c.version == locked_version]
        rest = [
            c for c in every if not c.entry.yanked and not (keep and c.version == locked_version)
        ]
        # Asked to move a package whose locked version was yanked: the locked version
        # stays possible, but only when nothing else fits.
        last = [c for c in every if not keep and c.version == locked_version and c.entry.yanked]
        pool = Pool(every, first + rest + last)
        self.pools[key] = pool
        return pool

    def read(self, cand: Candidate) -> Candidate:
        """Parse a candidate's dependencies once, when it is first tried."""
        if cand.read:
            return cand
        cand.read = True
        edges: dict[str, Edge] = {}
        unlocked = []
        entry = cand.entry
        for dep in entry.dependencies:
            # fpm follows only a dependency's own [dependencies] (module docstring).
            if dep.get("scope", "dependencies") != "dependencies":
                continue
            kind = dep.get("kind", str(DependencyKind.REGISTRY))
            name = dep.get("name", "")
            if kind == DependencyKind.META:
                continue
            if kind != DependencyKind.REGISTRY:
                unlocked.append(f"`{name}` ({kind})")
                continue
            namespace = dep.get("namespace", "")
            if not name or not namespace:
                cand.broken = f"a dependency without name or namespace: {dict(dep)}"
                break
            parts = []
            try:
                if dep.get("version"):
                    parts.append(Requirement.exact(Version.parse(dep["version"])))
                text = entry.ranges.get(name, dep.get("requirement"))
                if text is not None:
                    parts.append(Requirement.parse(text))
            except (InvalidVersion, InvalidRequirement) as exc:
                cand.broken = f"its requirement on `{namespace}/{name}` is unreadable: {exc}"
                break
            requirement = Requirement.all_of(parts)
            if name in edges:  # the same name twice: both requirements hold
                old = edges[name]
                if old.namespace != namespace:
                    cand.broken = (
                        f"it asks for both `{old.namespace}/{name}` and `{namespace}/{name}`"
                    )
                    break
                requirement = Requirement.all_of([old.requirement, requirement])
            edges[name] = Edge(name, namespace, requirement)
        cand.edges = tuple(edges[n] for n in sorted(edges))
        cand.unlocked = tuple(sorted(unlocked))
        return cand

    # -- wording --------------------------------------------------------------------

    def chain(self, name: str) -> str:
        """`app` → `ns/a` 1.0.0: how the root came to need the decided package `name`."""
        links = []
        current: str | None = name
        for _ in range(len(self.decided) + 1):
            if current is None:
                break
            cand = self.decided.get(current)
            slot = self.slots.get(current)
            if cand is None or slot is None or not slot.needs:
                break
            links.append(f"`{cand.namespace}/{cand.name}` {cand.version}")
            current = slot.needs[0].origin
        links.append(f"`{self.root.name}`")
        return " → ".join(reversed(links[1:]))

    def who(self, need: Need) -> str:
        if need.origin is None:
            where = "" if need.scope == "dependencies" else f" (in {table_name(need.scope)})"
            return f"`{self.root.name}`{where}"
        cand = self.decided[need.origin]
        return f"`{cand.namespace}/{cand.name}` {cand.version} (needed by {self.chain(cand.name)})"

    def wants(self, need: Need, name: str) -> str:
        text = f"{self.who(need)} needs `{need.namespace}/{name}`"
        return text if need.requirement.is_any else f"{text} `{need.requirement}`"

    def explain(self, name: str, needs: Sequence[Need]) -> str | None:
        """Why no version of `name` satisfies `needs`; None when one does."""
        if name == self.root.name:
            need = next((n for n in needs if n.origin is not None), needs[0])
            return (
                f"{self.wants(need, name)}, but `{name}` is the project being locked: "
                "fpm builds one package per name"
            )
        namespace = needs[0].namespace
        other = next((n for n in needs if n.namespace != namespace), None)
        if other is not None:
            return (
                f"{self.wants(needs[0], name)}, but {self.wants(other, name)}: fpm builds "
                "one package per name, so both cannot be used"
            )
        pool = self.pool(namespace, name)
        if not pool.every:
            return f"{self.wants(needs[0], name)}, which is not in the registry"

        def fits(requirements: Sequence[Requirement]) -> bool:
            return any(all(r.matches(c.version) for r in requirements) for c in pool.allowed)

        for need in needs:
            if fits([need.requirement]):
                continue
            yanked = [
                str(c.version)
                for c in pool.every
                if c.entry.yanked and need.requirement.matches(c.version)
            ]
            if not pool.allowed:
                why = "every version of it is yanked"
            elif yanked:
                why = f"the versions that match are yanked ({', '.join(yanked)})"
            else:
                shown = [str(c.version) for c in pool.every if not c.entry.yanked]
                more = ", ..." if len(shown) > MAX_VERSIONS_SHOWN else ""
                why = f"no version matches (available: {', '.join(shown[:5])}{more})"
            return f"{self.wants(need, name)}, but {why}"
        for i, first in enumerate(needs):
            for second in needs[i + 1 :]:
                if not fits([first.requirement, second.requirement]):
                    return f"{self.wants(first, name)}, but {self.wants(second, name)}"
        if not fits([n.requirement for n in needs]):
            return f"no version of `{namespace}/{name}` satisfies all of: " + "; ".join(
                f"{self.who(n)} needs `{n.requirement}`" for n in needs
            )
        return None

    def record(self, conflict: str | None, *, weak: bool = False) -> None:
        target = self.weak_conflicts if weak else self.conflicts
        if conflict is not None and len(target) < MAX_CONFLICTS_KEPT:
            target.setdefault(conflict, None)
