"""What the audit reads from the registry's index, and what each locked package may become.

`DocumentIndex` keeps each package's whole index document (versions, tombstones,
deprecation) once per run, and is the `Index` the resolver reads for `--fix` and for a
project without a lock. `allowed_range` is the requirement every dependent puts on a
locked package: fpm.toml's own entry and the locked dependents' `v` pins and ranges.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from concurrent.futures import Executor, ThreadPoolExecutor

from fpmreg.client.index import HttpIndex
from fpmreg.core.lockfile import Lock, LockedPackage, dependency_requirement
from fpmreg.core.manifest import DependencyKind, Manifest
from fpmreg.core.resolve import IndexVersion
from fpmreg.core.versions import InvalidRequirement, InvalidVersion, Requirement, Version

# Index documents are fetched this many at a time (the registry serves them cheaply).
PREFETCH_THREADS = 12


class DocumentIndex(HttpIndex):
    """An `HttpIndex` that can fetch many documents at once (`document_of` keeps each)."""

    def prefetch(self, keys: Iterable[tuple[str, str]], pool: Executor | None = None) -> None:
        """Fetch the documents of `keys` in parallel (a lock of 200 packages in one go)."""
        missing = [k for k in dict.fromkeys(keys) if k not in self.documents]
        if pool is None:
            with ThreadPoolExecutor(max_workers=PREFETCH_THREADS) as own:
                self.prefetch(missing, own)
            return
        found = list(pool.map(lambda k: self.document(*k), missing))
        with self._lock:
            for key, document in zip(missing, found, strict=True):
                self.documents.setdefault(key, document)


def entry_of(versions: Sequence[IndexVersion], version: str) -> IndexVersion | None:
    """The index entry of `version` (normalized text), None when it is not listed."""
    return next((v for v in versions if _normal(v.version) == version), None)


def _normal(text: str) -> str:
    try:
        return str(Version.parse(text))
    except InvalidVersion:
        return text


def _edge(entry: IndexVersion, name: str) -> Requirement | None:
    """What `entry` asks of its dependency `name` (None: it has no such dependency)."""
    parts: list[Requirement] = []
    found = False
    for dep in entry.dependencies:
        if dep.get("scope", "dependencies") != "dependencies" or dep.get("name") != name:
            continue
        found = True
        try:
            if dep.get("version"):
                parts.append(Requirement.exact(Version.parse(dep["version"])))
            text = entry.ranges.get(name, dep.get("requirement"))
            if text is not None:
                parts.append(Requirement.parse(text))
        except (InvalidVersion, InvalidRequirement):
            continue  # an unreadable requirement: the resolver reports it
    return Requirement.all_of(parts) if found else None


def allowed_range(
    package: LockedPackage, lock: Lock, manifest: Manifest | None, index: HttpIndex
) -> Requirement:
    """Every requirement on `package`: fpm.toml's entry and each locked dependent's."""
    parts: list[Requirement] = []
    if manifest is not None:
        for dep in manifest.dependencies:
            if dep.kind is DependencyKind.REGISTRY and dep.name == package.name:
                try:
                    parts.append(dependency_requirement(dep, manifest.requirements))
                except (InvalidRequirement, InvalidVersion):
                    continue
    for other in lock.packages:
        if package.key not in other.dependencies:
            continue
        entry = entry_of(index.versions(other.namespace, other.name), other.version)
        edge = _edge(entry, package.name) if entry is not None else None
        if edge is not None:
            parts.append(edge)
    return Requirement.all_of(parts)
