"""`fpmreg sbom`'s content: the project of `fpm.toml` and the exact packages of
`fpm.lock`, with the licences the registry's metadata declares (docs/sbom.md,
"`fpmreg sbom`")."""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx
from pydantic import ValidationError

from fpmreg import __version__
from fpmreg.client.errors import UsageError
from fpmreg.client.index import new_client
from fpmreg.core.lockfile import Lock, LockedPackage
from fpmreg.core.manifest import DependencyKind, Manifest
from fpmreg.core.sbom import Component, Registry, SbomInput
from fpmreg.core.wire.packages import VersionInfo

SOURCE_DATE_EPOCH = "SOURCE_DATE_EPOCH"  # reproducible-builds.org/specs/source-date-epoch
DEFAULT_NAMESPACE = "local"  # the root's purl namespace when `--namespace` is not given


def creation_time(now: datetime | None = None) -> datetime:
    """`SOURCE_DATE_EPOCH` (seconds since 1970, UTC) when set, else `now` (else the clock)."""
    text = os.environ.get(SOURCE_DATE_EPOCH, "").strip()
    if not text:
        return now or datetime.now(UTC)
    try:
        seconds = int(text)
        return datetime.fromtimestamp(seconds, UTC)
    except (ValueError, OverflowError, OSError):
        raise UsageError(
            f"{SOURCE_DATE_EPOCH}={text[:40]!r} is not a whole number of seconds since "
            "1970-01-01 UTC: set it as `date +%s` prints, or unset it"
        ) from None


@dataclass
class Licences:
    """What the registries said about each locked package, and what could not be asked."""

    found: dict[str, VersionInfo] = field(default_factory=dict)  # purl → the version
    unreachable: set[str] = field(default_factory=set)  # registries
    missing: list[str] = field(default_factory=list)  # purls the registry did not answer


def fetch_licences(packages: Iterable[LockedPackage]) -> Licences:
    """Each package's `VersionInfo` from its registry, one request each, one try (an
    unreachable registry is noted and its packages' licences stay NOASSERTION)."""
    result = Licences()
    by_registry: dict[str, list[LockedPackage]] = {}
    for p in packages:
        by_registry.setdefault(p.registry, []).append(p)
    for registry, locked in sorted(by_registry.items()):
        with new_client(registry) as client:
            for p in locked:
                path = f"/api/v1/packages/{p.namespace}/{p.name}/versions/{p.version}"
                try:
                    response = client.get(path)
                except httpx.HTTPError:
                    result.unreachable.add(registry)
                    break
                try:
                    info = VersionInfo.model_validate_json(response.content)
                except ValidationError:
                    info = None
                if response.status_code != 200 or info is None:
                    result.missing.append(p.package_url)
                else:
                    result.found[p.package_url] = info
    return result


def project_sbom(
    manifest: Manifest, lock: Lock, registry: str, namespace: str, licences: Licences
) -> SbomInput:
    """The SBOM content: the project (`namespace/name@version` of fpm.toml, its licence)
    and every locked package at its exact version, sha256 and log index."""
    locked_keys = {p.key for p in lock.packages}
    root_deps = tuple(
        f"{d.namespace}/{d.name}"
        for d in manifest.dependencies
        if d.kind is DependencyKind.REGISTRY and f"{d.namespace}/{d.name}" in locked_keys
    )
    root = Component(
        namespace, manifest.name, manifest.version, "", manifest.license, dependencies=root_deps
    )
    components = []
    for p in lock.packages:
        info = licences.found.get(p.package_url)
        components.append(
            Component(
                p.namespace,
                p.name,
                p.version,
                p.sha256,
                info.license if info else "",
                p.log_index,
                info.download_url if info else "",
                p.dependencies,
            )
        )
    host = httpx.URL(registry).host or registry
    return SbomInput(root, tuple(components), Registry(host, registry), __version__)
