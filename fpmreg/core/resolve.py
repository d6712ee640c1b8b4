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
docs/fpm-protocol.md §1.10): `ns1/foo` and `ns2/foo` cannot both be in a build, and fpm would
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

from fpmreg.core.lockfile import Lock, dependency_requirement
from fpmreg.core.manifest import DependencyKind, Manifest
from fpmreg.core.problem import Problem, Severity
from fpmreg.core.resolution import (
    MAX_CONFLICTS_SHOWN,
    Resolution,
    ResolutionError,
    ResolvedPackage,
)
from fpmreg.core.resolve_index import Index, IndexVersion, MemoryIndex
from fpmreg.core.resolve_state import (
    MAX_CONFLICTS_KEPT,
    MAX_VERSIONS_SHOWN,
    Candidate,
    Level,
    Need,
    ResolverState,
    Slot,
    table_name,
)
from fpmreg.core.versions import InvalidRequirement

__all__ = [
    "MAX_CONFLICTS_KEPT",
    "MAX_CONFLICTS_SHOWN",
    "MAX_VERSIONS_SHOWN",
    "Index",
    "IndexVersion",
    "MemoryIndex",
    "Resolution",
    "ResolutionError",
    "ResolvedPackage",
    "resolve",
]


class _Resolver(ResolverState):
    """The search: backtracking with conflict-directed backjumping (module docstring)."""

    # -- the search -----------------------------------------------------------------

    def add_need(self, name: str, need: Need) -> None:
        slot = self.slots.setdefault(name, Slot())
        if name == self.root.name:
            domain: list[Candidate] = []
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

    def decide(self, name: str, cand: Candidate) -> set[str] | None:
        """Choose `cand` for `name`: None when done, else the decisions it clashes with."""
        self.attempts += 1
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
            need = Need(name, edge.namespace, edge.requirement, depth + 1)
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
            self.add_need(edge.name, Need(name, edge.namespace, edge.requirement, depth + 1))
        return None

    def undo(self, level: Level) -> None:
        while len(self.trail) > level.trail_mark:
            self.pop_need()
        if self.decided.pop(level.name, None) is not None and self.slots[level.name].needs:
            self.pending.add(level.name)

    def search(self) -> None:
        levels: list[Level] = []
        while (name := self.pick()) is not None:
            slot = self.slots[name]
            level = Level(name, slot.domains[-1], self.origins(name), len(self.trail))
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
                        raise ResolutionError(
                            list(self.conflicts) or list(self.weak_conflicts), self.attempts
                        )
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
            where = table_name(dep.scope)
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
            self.add_need(dep.name, Need(None, dep.namespace, requirement, 1, dep.scope))
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

    def lock_problems(self, cand: Candidate) -> None:
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
