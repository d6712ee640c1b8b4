"""What package answers say about advisories: a small interface others implement.

`packages` sits below `advisories` (docs/architecture.md, "Layers"), so the package and
version answers (`/api/v1` and fpm's metadata) ask an `AdvisoryHook` which advisories
concern the package and each of its versions; `create_app` wires in the advisories
domain's implementation (`fpmreg.server.advisories.embedding.EmbeddedAdvisories`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from sqlalchemy.orm import Session

from fpmreg.core.wire.advisories import AdvisoryRef
from fpmreg.core.wire.packages import PackageInfo, VersionInfo

Refs = tuple[list[AdvisoryRef], dict[str, list[AdvisoryRef]]]


class AdvisoryHook(Protocol):
    """Answers which published advisories concern a package and each version."""

    def for_versions(self, session: Session, package_id: int, versions: Sequence[str]) -> Refs:
        """(the package's current advisories, those affecting each of `versions`)."""


class NoAdvisories:
    """A hook that knows no advisories (an app built without the advisories domain)."""

    def for_versions(self, session: Session, package_id: int, versions: Sequence[str]) -> Refs:
        """None at all."""
        return [], {}


def package_with_advisories(
    info: PackageInfo, hook: AdvisoryHook, session: Session, package_id: int
) -> PackageInfo:
    """`info` with `advisories` on the package and on each version."""
    current, by_version = hook.for_versions(session, package_id, [v.version for v in info.versions])
    versions = [
        v.model_copy(update={"advisories": by_version.get(v.version, [])}) for v in info.versions
    ]
    return info.model_copy(update={"advisories": current, "versions": versions})


def version_with_advisories(
    info: VersionInfo, hook: AdvisoryHook, session: Session, package_id: int
) -> VersionInfo:
    """`info` with the advisories that affect it."""
    _, by_version = hook.for_versions(session, package_id, [info.version])
    return info.model_copy(update={"advisories": by_version.get(info.version, [])})


def fpm_with_advisories(
    document: dict[str, Any], hook: AdvisoryHook, session: Session, package_id: int
) -> dict[str, Any]:
    """fpm's document with `advisories` (those affecting the chosen version) in its
    version data: an extra key, which fpm ignores; no `null`s (fpm cannot read them)."""
    data = document["data"]
    chosen = data.get("latest_version_data") or data.get("version_data")
    if chosen is None:
        return document
    _, by_version = hook.for_versions(session, package_id, [chosen["version"]])
    refs = by_version.get(chosen["version"], [])
    if refs:
        chosen["advisories"] = [r.model_dump(mode="json", exclude_none=True) for r in refs]
    return document
