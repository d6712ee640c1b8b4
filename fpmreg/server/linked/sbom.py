"""A published release's SBOM: its `[dependencies]` resolved against this registry, each
package with its sha256, licence and log index (docs/sbom.md, "The route").

The resolver is `fpm.lock`'s (`fpmreg.core.resolve`) over the registry's own index, as
a build's dependencies are (`builds.service.StoredIndex`): each requirement gets the
newest version that is not yanked and fits every requirement in the graph."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from urllib.parse import urlsplit

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fpmreg.core.dependencies import Dependency, DependencyKind
from fpmreg.core.manifest import Manifest
from fpmreg.core.resolve import ResolutionError, resolve
from fpmreg.core.resolve_index import IndexVersion
from fpmreg.core.sbom import Component, Registry, SbomInput
from fpmreg.server.builds.service import StoredIndex
from fpmreg.server.errors import Conflict
from fpmreg.server.federation.models import LogEntry
from fpmreg.server.packages.models import Package, Version
from fpmreg.server.packages.schemas import tarball_path
from fpmreg.server.packages.service import PackagesService

RELEASE_ACTION = "version.publish"  # docs/transparency-log.md, "Records"


class _LicenceIndex(StoredIndex):
    """`StoredIndex`, keeping each version's licence as it reads it."""

    def __init__(self, packages: PackagesService) -> None:
        super().__init__(packages)
        self.licences: dict[tuple[str, str, str], str] = {}

    def versions(self, namespace: str, name: str) -> Sequence[IndexVersion]:
        """Every version of `namespace/name`, as `StoredIndex` lists them."""
        rows = super().versions(namespace, name)
        if rows:
            package = self.packages.available_package(namespace, name)
            for v in self.packages.versions(package):
                self.licences[(namespace, name, v.version)] = v.license
        return rows


def _root_manifest(package: Package, version: Version) -> Manifest:
    """The release's `[dependencies]` (not the dev ones, nor its targets'), as the
    resolver's root: what a project that depends on the release builds with."""
    stored = [d for d in version.dependencies if d.get("scope") == "dependencies"]
    dependencies = tuple(
        Dependency(
            d["name"],
            DependencyKind(d.get("kind", "registry")),
            d.get("namespace", ""),
            d.get("version", ""),
            "dependencies",
        )
        for d in stored
        if d.get("kind", "registry") in {k.value for k in DependencyKind}
    )
    ranges = {d["name"]: d["requirement"] for d in stored if "requirement" in d}
    return Manifest(
        name=package.name,
        version=version.version,
        version_file="",
        license=version.license,
        dependencies=dependencies,
        raw={"extra": {"fpmreg": {"dependencies": ranges}}},
    )


def release_log_indexes(session: Session, subjects: Iterable[str]) -> dict[str, int]:
    """The index of the newest release record of each logged package URL, one query."""
    wanted = sorted(set(subjects))
    if not wanted:
        return {}
    rows = session.execute(
        select(LogEntry.subject, func.max(LogEntry.index))
        .where(LogEntry.subject.in_(wanted), LogEntry.action == RELEASE_ACTION)
        .group_by(LogEntry.subject)
    )
    return {subject: int(index) for subject, index in rows}


def registry_of(base_url: str) -> Registry:
    """This registry as the supplier: its host name and base URL."""
    return Registry(urlsplit(base_url).netloc or base_url, base_url)


def release_sbom(
    packages: PackagesService,
    base_url: str,
    package: Package,
    version: Version,
    tool_version: str,
) -> SbomInput:
    """The SBOM content of a release; `Conflict` (409) when its dependencies cannot be
    resolved against the registry as it is now."""
    licences = _LicenceIndex(packages)
    manifest = _root_manifest(package, version)
    try:
        resolution = resolve(manifest, licences)
    except ResolutionError as exc:
        raise Conflict(
            "sbom-unresolvable",
            f"the dependencies of `{package.namespace.name}/{package.name}` "
            f"{version.version} cannot be resolved against this registry: {exc}",
        ) from None
    ns = package.namespace.name
    root_deps = tuple(
        f"{d.namespace}/{d.name}"
        for d in manifest.dependencies
        if d.kind is DependencyKind.REGISTRY
    )
    root = Component(
        ns,
        package.name,
        version.version,
        version.sha256,
        version.license,
        None,
        base_url + tarball_path(ns, package.name, version.version),
        root_deps,
    )
    components = [
        Component(
            p.namespace,
            p.name,
            str(p.version),
            p.sha256,
            licences.licences.get((p.namespace, p.name, str(p.version)), ""),
            None,
            base_url + tarball_path(p.namespace, p.name, str(p.version)),
            p.dependencies,
        )
        for p in resolution.packages
    ]
    logged = release_log_indexes(packages.session, [c.purl for c in (root, *components)])
    root, *components = (replace(c, log_index=logged.get(c.purl)) for c in (root, *components))
    return SbomInput(root, tuple(components), registry_of(base_url), tool_version)
