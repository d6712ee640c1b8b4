"""The `[dependencies]` tables of an `fpm.toml`, read as fpm 0.12 reads them.

Error wording follows fpm's own (`src/fpm/manifest/dependency.f90`).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from fpmreg.core.names import name_problems
from fpmreg.core.problem import Problem
from fpmreg.core.versions import InvalidVersion, Version

DEPENDENCY_KEYS = frozenset(
    {"namespace", "v", "path", "git", "tag", "branch", "rev", "preprocess", "features", "profile"}
)
# `src/fpm/manifest/meta.f90` `is_meta_package`; stdlib and minpack expand to git.
METAPACKAGES = frozenset({"openmp", "stdlib", "mpi", "minpack", "hdf5", "netcdf", "blas"})
GIT_METAPACKAGES = frozenset({"stdlib", "minpack"})


class DependencyKind(StrEnum):
    """Where fpm gets a dependency from."""

    REGISTRY = "registry"
    GIT = "git"
    PATH = "path"
    META = "metapackage"


@dataclass(frozen=True, slots=True)
class Dependency:
    """One entry of a `[dependencies]` table."""

    name: str
    kind: DependencyKind
    namespace: str = ""
    version: str = ""  # normalized `X.Y.Z` when pinned with `v`, else empty
    scope: str = "dependencies"  # or `dev-dependencies`, `executable:app`...

    def as_dict(self) -> dict[str, str]:
        """The JSON form stored and served by the registry (no empty values)."""
        out = {"name": self.name, "kind": str(self.kind), "scope": self.scope}
        if self.namespace:
            out["namespace"] = self.namespace
        if self.version:
            out["version"] = self.version
        return out


def _metapackage(name: str, entry: Any, scope: str, problems: list[Problem]) -> Dependency:
    if entry != "*":
        problems.append(
            Problem(
                "manifest-invalid",
                scope,
                f"Value <{entry}> for metapackage {name} is not currently "
                'supported. Try "*" instead.',
            )
        )
    return Dependency(name, DependencyKind.META, scope=scope)


def _entry_problems(name: str, entry: dict[str, Any], scope: str) -> list[str]:
    """fpm's checks of the keys of one dependency entry (messages in its words)."""
    messages = []
    unknown = sorted(set(entry) - DEPENDENCY_KEYS)
    if unknown:
        messages.append(f"Key {unknown[0]} is not allowed in dependency '{name}'")
    has_git, has_path = "git" in entry, "path" in entry
    if has_git and has_path:
        messages.append(f"Dependency '{name}' cannot have both git and path entries")
    if (has_git or has_path) and "v" in entry:
        messages.append(f"Dependency '{name}' cannot have both v and git/path entries")
    refs = [k for k in ("branch", "rev", "tag") if k in entry]
    if len(refs) > 1:
        messages.append(f"Dependency '{name}' can only have one of branch, rev or tag present")
    if refs and not has_git:
        messages.append(f"Dependency '{name}' has git identifier but no git url")
    return messages


def _registry_dependency(
    name: str, entry: dict[str, Any], scope: str, problems: list[Problem]
) -> Dependency | None:
    namespace = entry.get("namespace")
    if not isinstance(namespace, str) or not namespace:
        problems.append(
            Problem(
                "dependency-invalid",
                scope,
                f"Please provide a 'namespace' for dependency '{name}' if it is not a "
                "local path or git repository",
            )
        )
        return None
    problems.extend(name_problems(namespace, field=scope, what="namespace")[:1])
    problems.extend(name_problems(name, field=scope, what="dependency")[:1])
    version = ""
    if "v" in entry:
        try:
            version = str(Version.parse(str(entry["v"])))
        except InvalidVersion as exc:
            problems.append(Problem("dependency-invalid", scope, f"Dependency '{name}': {exc}"))
    return Dependency(name, DependencyKind.REGISTRY, namespace, version, scope)


def _dependency(name: str, entry: Any, scope: str, problems: list[Problem]) -> Dependency | None:
    if name in METAPACKAGES and scope == "dependencies" and not isinstance(entry, dict):
        return _metapackage(name, entry, scope, problems)
    if not isinstance(entry, dict) or not entry:
        problems.append(
            Problem(
                "dependency-invalid",
                scope,
                f"Dependency '{name}' does not provide sufficient entries",
            )
        )
        return None
    messages = _entry_problems(name, entry, scope)
    problems.extend(Problem("dependency-invalid", scope, m) for m in messages)
    if "git" not in entry and any(k in entry for k in ("branch", "rev", "tag")):
        return None  # a git reference without git: what kind it is cannot be told
    if "git" in entry:
        return Dependency(name, DependencyKind.GIT, scope=scope)
    if "path" in entry:
        return Dependency(name, DependencyKind.PATH, scope=scope)
    return _registry_dependency(name, entry, scope, problems)


def dependency_table(table: Any, scope: str, problems: list[Problem]) -> list[Dependency]:
    """The dependencies of one table (`scope` names it); problems go to `problems`."""
    if not isinstance(table, dict):
        if table is not None:
            problems.append(Problem("manifest-invalid", scope, f"`{scope}` must be a table"))
        return []
    deps = []
    for name, entry in table.items():
        dep = _dependency(name, entry, scope, problems)
        if dep is not None:
            deps.append(dep)
    return deps
