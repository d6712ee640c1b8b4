"""Resolve a project's registry dependencies to exact versions, for `fpm.lock`.

What is followed, as fpm builds it (fpm `src/fpm/dependency.f90`, v0.12.0):

- the root project's `[dependencies]`, `[dev-dependencies]` and the `dependencies` of its
  `[[executable]]`, `[[example]]` and `[[test]]` targets (`add_project_dependencies` with
  `main = .true.`);
- for every other package only its `[dependencies]`: `resolve_dependency` calls
  `self%add(package, proj_dir, .false., error)`, so dependencies' dev-dependencies and
  target dependencies are never fetched;
- registry entries only. Metapackages never touch the registry (`meta.f90`) and are
  ignored; git and path entries are fetched by fpm itself, so they are reported as
  problems (they cannot be pinned here) and not resolved.

fpm keeps one package per *name* (`dependency_tree_t%find(name)`, first added wins,
fpm-protocol.md §1.10): `ns1/foo` and `ns2/foo` cannot both be in a build, and fpm would
silently drop one. Here that is a conflict, reported like any other.

Unlike fpm (whose `v` is an exact pin and whose first-added version silently wins), every
requirement must hold: exact `v` pins and `[extra.fpmreg.dependencies]` ranges of every
package in the graph. The search is backtracking with conflict-directed backjumping
(when a package runs out of versions, jump straight back to the most recent decision that
constrained it, not merely the previous one), deciding forced packages first (zero or one
version left), then packages named in `update`, then by distance from the root, then by
name. Versions are tried locked first (unless in `update`), then newest first. A yanked
version is only ever a candidate when `fpm.lock` has exactly that version.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from fpmreg.core.lockfile import Lock, LockedPackage, LockRoot, dependency_requirement
from fpmreg.core.lockfile import manifest_hash as _manifest_hash
from fpmreg.core.manifest import DependencyKind, Manifest
from fpmreg.core.problem import Problem, Severity
from fpmreg.core.versions import InvalidRequirement, InvalidVersion, Requirement, Version

# How many distinct conflicts a `ResolutionError` message lists; the rest are counted.
MAX_CONFLICTS_SHOWN = 5
# How many conflicts are kept while searching (a failed search can visit many).
MAX_CONFLICTS_KEPT = 50
# Versions listed in "no version matches (available: ...)".
MAX_VERSIONS_SHOWN = 5


@dataclass(frozen=True)
class IndexVersion:
    """One published version as the registry index describes it (`/api/v1/index`)."""

    version: str
    sha256: str
    yanked: bool = False
    # As stored: {"name", "kind", "namespace", "version"?, "scope", "requirement"?}.
    dependencies: Sequence[Mapping[str, str]] = ()
    # The package's own `[extra.fpmreg.dependencies]`: name → requirement text.
    ranges: Mapping[str, str] = field(default_factory=dict)
    download_url: str = ""

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> IndexVersion:
        """One entry of the index document's `versions` list."""
        return cls(
            version=str(data["version"]),
            sha256=str(data.get("sha256", "")),
            yanked=bool(data.get("yanked", False)),
            dependencies=tuple(data.get("dependencies") or ()),
            ranges=dict(data.get("ranges") or {}),
            download_url=str(data.get("download_url", "")),
        )


class Index(Protocol):
    """Where the resolver reads versions: the registry's index, or a test double."""

    def versions(self, namespace: str, name: str) -> Sequence[IndexVersion]:
        """Every version of `namespace/name`, yanked ones included; empty if unknown."""
        ...


class MemoryIndex:
    """An `Index` held in a dict: for tests, benchmarks and already-fetched documents."""

    def __init__(
        self, packages: Mapping[tuple[str, str], Sequence[IndexVersion]] | None = None
    ) -> None:
        self.packages: dict[tuple[str, str], list[IndexVersion]] = {
            key: list(versions) for key, versions in (packages or {}).items()
        }

    def add(self, namespace: str, name: str, version: IndexVersion) -> None:
        """Publish one more version."""
        self.packages.setdefault((namespace, name), []).append(version)

    def versions(self, namespace: str, name: str) -> Sequence[IndexVersion]:
        """Every version of `namespace/name`, empty if unknown."""
        return self.packages.get((namespace, name), [])


@dataclass(frozen=True)
class ResolvedPackage:
    """One package of the resolved build, at its exact version."""

    namespace: str
    name: str
    version: Version
    sha256: str
    yanked: bool = False
    dependencies: tuple[str, ...] = ()  # `namespace/name`, sorted
    download_url: str = ""

    @property
    def key(self) -> str:
        """`namespace/name`."""
        return f"{self.namespace}/{self.name}"


@dataclass(frozen=True)
class Resolution:
    """Every registry package of the build, sorted by (name, namespace), and what the
    resolver noticed on the way (`Problem`s: errors mean the result must not be used)."""

    root: str
    packages: tuple[ResolvedPackage, ...]
    problems: tuple[Problem, ...] = ()

    def get(self, name: str) -> ResolvedPackage | None:
        """The resolved package called `name`."""
        return next((p for p in self.packages if p.name == name), None)

    def to_lock(self, registry: str, manifest: Manifest) -> Lock:
        """The `fpm.lock` content for this resolution, every package from `registry`."""
        return Lock(
            tuple(
                LockedPackage(
                    p.namespace, p.name, str(p.version), p.sha256, registry, p.dependencies
                )
                for p in self.packages
            ),
            LockRoot(manifest.name, _manifest_hash(manifest)),
        )


class ResolutionError(Exception):
    """No set of versions satisfies every requirement; `conflicts` says which clash."""

    def __init__(self, conflicts: Sequence[str]) -> None:
        self.conflicts = tuple(conflicts)
        shown = list(self.conflicts[:MAX_CONFLICTS_SHOWN])
        message = shown[0] if shown else "no combination of versions satisfies fpm.toml"
        message += "".join(f"\nalso: {c}" for c in shown[1:])
        if len(self.conflicts) > len(shown):
            message += f"\n(and {len(self.conflicts) - len(shown)} more conflicts)"
        super().__init__(message)


# --- internals -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Need:
    """A requirement on a name, and who has it (`origin` None: the root project)."""

    origin: str | None
    namespace: str
    requirement: Requirement
    depth: int
    scope: str = "dependencies"


@dataclass(frozen=True, slots=True)
class _Edge:
    name: str
    namespace: str
    requirement: Requirement


@dataclass(slots=True)
class _Candidate:
    namespace: str
    name: str
    version: Version
    entry: IndexVersion
    edges: tuple[_Edge, ...] = ()
    unlocked: tuple[str, ...] = ()  # git/path dependencies, which fpm fetches itself
    broken: str = ""  # why its metadata is unusable
    read: bool = False


@dataclass(slots=True)
class _Pool:
    every: list[_Candidate]  # newest first, yanked included
    allowed: list[_Candidate]  # in preference order, yanked only when locked


@dataclass(slots=True)
class _Slot:
    needs: list[_Need] = field(default_factory=list)
    domains: list[list[_Candidate]] = field(default_factory=list)
    depths: list[int] = field(default_factory=list)


@dataclass(slots=True)
class _Level:
    name: str
    domain: list[_Candidate]
    conflict: set[str]
    trail_mark: int
    tried: int = 0


def _table(scope: str) -> str:
    kind, _, target = scope.partition(":")
    return f"[[{kind}]] `{target}`" if target else f"[{scope}]"


class _Resolver:
    def __init__(
        self, root: Manifest, index: Index, locked: Lock | None, update: set[str] | None
    ) -> None:
        self.root = root
        self.index = index
        self.locked = locked
        self.update = frozenset(update or ())
        self.pools: dict[tuple[str, str], _Pool] = {}
        self.slots: dict[str, _Slot] = {}
        self.decided: dict[str, _Candidate] = {}
        self.pending: set[str] = set()
        self.trail: list[str] = []
        self.conflicts: dict[str, None] = {}
        self.weak_conflicts: dict[str, None] = {}
        self.problems: list[Problem] = []
        # Names the root takes from git or a path: fpm uses those for every package that
        # asks for the name, so registry requests for them are not resolved.
        self.external: dict[str, str] = {}

    # -- the index, read once per package, sorted so listing order does not matter --

    def pool(self, namespace: str, name: str) -> _Pool:
        key = (namespace, name)
        pool = self.pools.get(key)
        if pool is not None:
            return pool
        by_version: dict[Version, _Candidate] = {}
        entries = sorted(
            self.index.versions(namespace, name), key=lambda e: (e.yanked, e.sha256, e.version)
        )
        for entry in entries:
            try:
                version = Version.parse(entry.version)
            except InvalidVersion:
                continue  # the registry refuses these; nothing fpm could fetch either
            by_version.setdefault(version, _Candidate(namespace, name, version, entry))
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
        pool = _Pool(every, first + rest + last)
        self.pools[key] = pool
        return pool

    def read(self, cand: _Candidate) -> _Candidate:
        """Parse a candidate's dependencies once, when it is first tried."""
        if cand.read:
            return cand
        cand.read = True
        edges: dict[str, _Edge] = {}
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
            edges[name] = _Edge(name, namespace, requirement)
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

    def who(self, need: _Need) -> str:
        if need.origin is None:
            where = "" if need.scope == "dependencies" else f" (in {_table(need.scope)})"
            return f"`{self.root.name}`{where}"
        cand = self.decided[need.origin]
        return f"`{cand.namespace}/{cand.name}` {cand.version} (needed by {self.chain(cand.name)})"

    def wants(self, need: _Need, name: str) -> str:
        text = f"{self.who(need)} needs `{need.namespace}/{name}`"
        return text if need.requirement.is_any else f"{text} `{need.requirement}`"

    def explain(self, name: str, needs: Sequence[_Need]) -> str | None:
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

    # -- the search -----------------------------------------------------------------

    def add_need(self, name: str, need: _Need) -> None:
        slot = self.slots.setdefault(name, _Slot())
        if name == self.root.name:
            domain: list[_Candidate] = []
        elif not slot.needs:
            domain = [
                c
                for c in self.pool(need.namespace, name).allowed
                if need.requirement.matches(c.version)
            ]
        elif need.namespace != slot.needs[0].namespace:
            domain = []
        elif need.requirement.is_any:
            domain = slot.domains[-1]
        else:
            domain = [c for c in slot.domains[-1] if need.requirement.matches(c.version)]
        slot.needs.append(need)
        slot.domains.append(domain)
        slot.depths.append(min(need.depth, slot.depths[-1]) if slot.depths else need.depth)
        self.trail.append(name)
        if name not in self.decided:
            self.pending.add(name)

    def pop_need(self) -> None:
        name = self.trail.pop()
        slot = self.slots[name]
        slot.needs.pop()
        slot.domains.pop()
        slot.depths.pop()
        if not slot.needs:
            self.pending.discard(name)

    def pick(self) -> str | None:
        best = None
        best_key: tuple[int, int, int, str] | None = None
        for name in self.pending:
            slot = self.slots[name]
            key = (
                min(len(slot.domains[-1]), 2),  # a dead end or a forced choice first
                0 if name in self.update else 1,  # what the user asked to move next
                slot.depths[-1],  # then nearest the root, as fpm adds direct deps first
                name,
            )
            if best_key is None or key < best_key:
                best, best_key = name, key
        return best

    def origins(self, name: str) -> set[str]:
        return {n.origin for n in self.slots[name].needs if n.origin is not None}

    def decide(self, name: str, cand: _Candidate) -> set[str] | None:
        """Choose `cand` for `name`: None when done, else the decisions it clashes with."""
        cand = self.read(cand)
        who = f"`{cand.namespace}/{name}` {cand.version}"
        if cand.broken:
            self.record(f"{who} cannot be used: {cand.broken}")
            return set()
        depth = self.slots[name].depths[-1]
        for edge in cand.edges:
            if edge.name == name:
                # fpm would silently use the package itself; here it must fit itself.
                if edge.namespace != cand.namespace or not edge.requirement.matches(cand.version):
                    wanted = "" if edge.requirement.is_any else f" `{edge.requirement}`"
                    self.record(
                        f"{who} cannot be used: it needs `{edge.namespace}/{name}`{wanted}, "
                        "and fpm builds one package per name"
                    )
                    return set()
                continue
            if edge.name in self.external:
                continue
            chosen = self.decided.get(edge.name)
            if chosen is None:
                continue
            if edge.namespace == chosen.namespace and edge.requirement.matches(chosen.version):
                continue
            self.decided[name] = cand  # so `who` can name it in the explanation
            need = _Need(name, edge.namespace, edge.requirement, depth + 1)
            explained = self.explain(edge.name, [*self.slots[edge.name].needs, need])
            if explained is not None:
                self.record(explained)
            else:
                self.record(
                    f"{self.wants(need, edge.name)}, which rules out `{chosen.namespace}/"
                    f"{edge.name}` {chosen.version}",
                    weak=True,
                )
            del self.decided[name]
            return {edge.name}
        self.decided[name] = cand
        self.pending.discard(name)
        for edge in cand.edges:
            if edge.name == name or edge.name in self.external:
                continue
            self.add_need(edge.name, _Need(name, edge.namespace, edge.requirement, depth + 1))
        return None

    def undo(self, level: _Level) -> None:
        while len(self.trail) > level.trail_mark:
            self.pop_need()
        if self.decided.pop(level.name, None) is not None and self.slots[level.name].needs:
            self.pending.add(level.name)

    def search(self) -> None:
        levels: list[_Level] = []
        while (name := self.pick()) is not None:
            slot = self.slots[name]
            level = _Level(name, slot.domains[-1], self.origins(name), len(self.trail))
            if not level.domain:
                self.record(self.explain(name, slot.needs))
            levels.append(level)
            while True:
                level = levels[-1]
                while level.tried < len(level.domain):
                    cand = level.domain[level.tried]
                    level.tried += 1
                    clash = self.decide(level.name, cand)
                    if clash is None:
                        break
                    level.conflict |= clash
                else:
                    # Out of versions: back to the latest decision to blame (backjumping).
                    blamed = level.conflict - {level.name}
                    levels.pop()
                    while levels and levels[-1].name not in blamed:
                        self.undo(levels.pop())
                    if not levels:
                        raise ResolutionError(list(self.conflicts) or list(self.weak_conflicts))
                    self.undo(levels[-1])
                    levels[-1].conflict |= blamed - {levels[-1].name}
                    continue
                break

    # -- entry ---------------------------------------------------------------------

    def run(self) -> Resolution:
        root = self.root
        ranges = root.requirements
        registry_names = set()
        for dep in root.dependencies:
            if dep.kind in (DependencyKind.GIT, DependencyKind.PATH):
                self.external.setdefault(dep.name, str(dep.kind))
        for dep in root.dependencies:
            if dep.kind is DependencyKind.META:
                continue
            where = _table(dep.scope)
            if dep.kind is not DependencyKind.REGISTRY:
                self.problems.append(
                    Problem(
                        "dependency-not-locked",
                        dep.scope,
                        f"`{dep.name}` (in {where}) comes from {dep.kind}: fpm fetches it "
                        "itself, and fpm.lock cannot pin or verify it; publish it to the "
                        "registry to lock it",
                        Severity.WARNING,
                    )
                )
                continue
            if dep.name in self.external:
                self.problems.append(
                    Problem(
                        "dependency-shadowed",
                        dep.scope,
                        f"`{dep.namespace}/{dep.name}` (in {where}) has the name of a "
                        f"{self.external[dep.name]} dependency of `{root.name}`; fpm builds "
                        "one package per name: remove one of them",
                    )
                )
                continue
            registry_names.add(dep.name)
            try:
                requirement = dependency_requirement(dep, ranges)
            except InvalidRequirement as exc:
                raise ResolutionError(
                    [f"fpm.toml [extra.fpmreg.dependencies] `{dep.name}`: {exc}"]
                ) from None
            self.add_need(dep.name, _Need(None, dep.namespace, requirement, 1, dep.scope))
        for name in sorted(set(ranges) - registry_names):
            self.problems.append(
                Problem(
                    "requirement-unused",
                    "extra.fpmreg.dependencies",
                    f"[extra.fpmreg.dependencies] has a range for `{name}`, which is not a "
                    "registry dependency in fpm.toml: it is ignored",
                    Severity.WARNING,
                )
            )
        self.search()
        return Resolution(root.name, self.result(), tuple(self.problems))

    def result(self) -> tuple[ResolvedPackage, ...]:
        packages = []
        for name in sorted(self.decided):
            cand = self.decided[name]
            deps = []
            for edge in cand.edges:
                if edge.name in self.external:
                    self.problems.append(
                        Problem(
                            "dependency-shadowed",
                            name,
                            f"`{cand.namespace}/{name}` {cand.version} needs `{edge.namespace}/"
                            f"{edge.name}`, but `{self.root.name}` takes `{edge.name}` from "
                            f"{self.external[edge.name]}, and fpm uses that one",
                            Severity.WARNING,
                        )
                    )
                elif edge.name != name:
                    deps.append(f"{edge.namespace}/{edge.name}")
            for unlocked in cand.unlocked:
                self.problems.append(
                    Problem(
                        "dependency-not-locked",
                        name,
                        f"`{cand.namespace}/{name}` {cand.version} needs {unlocked}, which "
                        "fpm fetches itself and fpm.lock cannot pin or verify",
                        Severity.WARNING,
                    )
                )
            self.lock_problems(cand)
            packages.append(
                ResolvedPackage(
                    cand.namespace,
                    name,
                    cand.version,
                    cand.entry.sha256,
                    cand.entry.yanked,
                    tuple(sorted(deps)),
                    cand.entry.download_url,
                )
            )
        for name in sorted(self.update - set(self.decided)):
            self.problems.append(
                Problem(
                    "update-unknown",
                    name,
                    f"`{name}` is not a registry dependency of `{self.root.name}`: "
                    "nothing to update",
                    Severity.WARNING,
                )
            )
        return tuple(packages)

    def lock_problems(self, cand: _Candidate) -> None:
        lock = self.locked.get(cand.name) if self.locked else None
        if lock is None or lock.namespace != cand.namespace:
            return
        key = f"`{cand.namespace}/{cand.name}`"
        if str(cand.version) == lock.version and cand.entry.sha256 != lock.sha256:
            self.problems.append(
                Problem(
                    "checksum-mismatch",
                    cand.name,
                    f"{key} {lock.version} has sha256 {cand.entry.sha256} in the registry, "
                    f"but fpm.lock recorded {lock.sha256}: a published version must never "
                    "change, so do not use it and tell the registry's security contact",
                )
            )
        if cand.entry.yanked:
            self.problems.append(
                Problem(
                    "yanked-locked",
                    cand.name,
                    f"{key} {cand.version} is yanked; it is kept because fpm.lock has it: "
                    f"run `fpmreg lock --update {cand.name}` to move off it",
                    Severity.WARNING,
                )
            )
        pool = self.pool(cand.namespace, cand.name)
        if cand.name not in self.update and all(str(c.version) != lock.version for c in pool.every):
            self.problems.append(
                Problem(
                    "locked-version-missing",
                    cand.name,
                    f"fpm.lock had {key} {lock.version}, which the registry no longer has; "
                    f"{cand.version} was chosen instead",
                    Severity.WARNING,
                )
            )


def resolve(
    root: Manifest,
    index: Index,
    locked: Lock | None = None,
    update: set[str] | None = None,
) -> Resolution:
    """Choose one exact version of every registry package `root` builds with.

    `locked`: the current `fpm.lock`; its versions are kept while they still satisfy
    every requirement. `update`: names whose locked version should not be preferred (they
    move to the newest version that fits, and whatever must move with them does). None or
    empty keeps every locked version; pass `locked=None` to move everything.
    Raises `ResolutionError` naming the clashing requirements and who has them."""
    return _Resolver(root, index, locked, update).run()
