"""What the resolver answers: the packages of a build at exact versions, or why not."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from fpmreg.core.lockfile import Lock, LockedPackage, LockRoot
from fpmreg.core.lockfile import manifest_hash as _manifest_hash
from fpmreg.core.manifest import Manifest
from fpmreg.core.problem import Problem
from fpmreg.core.versions import Version

# How many distinct conflicts a `ResolutionError` message lists; the rest are counted.
MAX_CONFLICTS_SHOWN = 5


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
    """No set of versions satisfies every requirement; `conflicts` says which clash.

    `attempts` counts the versions the search tried before it gave up."""

    def __init__(self, conflicts: Sequence[str], attempts: int = 0) -> None:
        self.conflicts = tuple(conflicts)
        self.attempts = attempts
        shown = list(self.conflicts[:MAX_CONFLICTS_SHOWN])
        message = shown[0] if shown else "no combination of versions satisfies fpm.toml"
        message += "".join(f"\nalso: {c}" for c in shown[1:])
        if len(self.conflicts) > len(shown):
            message += f"\n(and {len(self.conflicts) - len(shown)} more conflicts)"
        super().__init__(message)
