"""What a badge says, read from the packages, metrics and builds domains
(docs/badges.md, "Kinds"); the drawing is `badges.py`, the routes `badges_api.py`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from fpmreg.server.builds.models import Build, BuildOutcome
from fpmreg.server.communities.models import Community, CommunityVerdict
from fpmreg.server.errors import NotFound
from fpmreg.server.linked.badges import BLUE, GREEN, LIGHTGREY, RED, Badge, format_count
from fpmreg.server.metrics.models import PackageDownloads, VersionDownloads
from fpmreg.server.packages.models import Package, Version
from fpmreg.server.packages.service import PackagesService

# The kinds, in the order the package page shows them. A community's policy verdict has
# routes of its own, as it names the community and the policy (`policy_badge`).
KINDS = ("version", "downloads", "license", "build")
KIND_PATTERN = "^(" + "|".join(KINDS) + ")$"

# What the build badge says for each outcome of `builds.models.BuildOutcome`.
BUILD_VALUES = {
    BuildOutcome.PASSED: ("verified", GREEN),
    BuildOutcome.FAILED: ("failed", RED),
    BuildOutcome.TIMED_OUT: ("failed", RED),
    BuildOutcome.PENDING: ("pending", LIGHTGREY),
    BuildOutcome.NOT_VERIFIED: ("not verified", LIGHTGREY),
}


@dataclass(frozen=True, slots=True)
class Subject:
    """The package a badge is about and the version it describes: the one asked for, or
    the newest that is not yanked (`latest` is None when every version is yanked)."""

    package: Package
    version: Version
    latest: Version | None
    pinned: bool  # a per-version badge

    @property
    def label(self) -> str:
        """`namespace/name`, or `namespace/name@version` for a per-version badge."""
        name = f"{self.package.namespace.name}/{self.package.name}"
        return f"{name}@{self.version.version}" if self.pinned else name


def check_kind(kind: str) -> str:
    """`kind` if it is one of `KINDS`, else `NotFound` (404) naming them."""
    if kind not in KINDS:
        raise NotFound(
            "badge-kind-unknown",
            f"there is no `{kind[:40]}` badge: ask for one of "
            + ", ".join(f"`{k}`" for k in KINDS),
            "kind",
        )
    return kind


def subject(packages: PackagesService, namespace: str, name: str, version: str = "") -> Subject:
    """The package (and version) of a badge; a quarantined package has none (404), as
    its page is not there for visitors either (deleted: `Removed`, 410)."""
    package = packages.get_package(namespace, name)
    versions = packages.versions(package) if package.quarantined_at is None else []
    if not versions:
        raise NotFound("package-not-found", f"package `{namespace}/{name}` not found")
    latest = next((v for v in versions if not v.yanked), None)
    if version:
        return Subject(package, packages.get_version(package, version), latest, True)
    return Subject(package, latest or versions[0], latest, False)


def _version(session: Session, s: Subject) -> Badge:
    if s.pinned:
        value = s.version.version + (" yanked" if s.version.yanked else "")
        color = LIGHTGREY if s.version.yanked else BLUE
    else:
        value = s.latest.version if s.latest else "all yanked"
        color = BLUE if s.latest else LIGHTGREY
    return Badge("fpmreg", value, color, f"{s.label}: version {value}")


def _downloads(session: Session, s: Subject) -> Badge:
    if s.pinned:
        count = session.scalar(
            select(VersionDownloads.count).where(VersionDownloads.version_id == s.version.id)
        )
    else:
        count = session.scalar(
            select(PackageDownloads.count).where(PackageDownloads.package_id == s.package.id)
        )
    value = format_count(int(count or 0))
    return Badge("downloads", value, GREEN, f"{s.label}: {count or 0} downloads")


def _license(session: Session, s: Subject) -> Badge:
    value = s.version.license or "unknown"
    return Badge("license", value, BLUE, f"{s.label}: license {value}")


def _build(session: Session, s: Subject) -> Badge:
    build = session.scalar(select(Build).where(Build.version_id == s.version.id))
    outcome = BuildOutcome(build.outcome) if build else BuildOutcome.NOT_VERIFIED
    value, color = BUILD_VALUES[outcome]
    title = f"{s.label}: build of {s.version.version} {value}"
    return Badge("build", value, color, title)


DRAW: dict[str, Callable[[Session, Subject], Badge]] = {
    "version": _version,
    "downloads": _downloads,
    "license": _license,
    "build": _build,
}


# What the policy badge says for a verdict's result (docs/badges.md, "Policy verdicts").
POLICY_VALUES = {"PASSED": ("passed", GREEN), "FAILED": ("failed", RED)}


def policy_badge(session: Session, s: Subject, community: str, policy: str) -> Badge:
    """The current verdict of `community`'s `policy` on the subject's version: passed,
    failed, or not evaluated (no verdict yet: it counts as failed, docs/communities.md)."""
    found = session.scalar(select(Community).where(Community.name == community.lower()))
    if found is None:
        raise NotFound("community-not-found", f"there is no community `{community[:63]}` here")
    key = f"{s.package.namespace.name}/{s.package.name}".lower()
    result = session.scalar(
        select(CommunityVerdict.result)
        .where(
            CommunityVerdict.community_id == found.id,
            CommunityVerdict.policy_slug == policy,
            CommunityVerdict.package == key,
            CommunityVerdict.version == s.version.version,
            CommunityVerdict.sha256 == s.version.sha256,
        )
        .order_by(CommunityVerdict.id.desc())
        .limit(1)
    )
    value, color = POLICY_VALUES.get(result or "", ("not evaluated", LIGHTGREY))
    title = f"{s.label}: {s.version.version} {value} policy {policy} of community {found.name}"
    return Badge(f"{found.name}/{policy}", value, color, title)


def badge_for(session: Session, s: Subject, kind: str) -> Badge:
    """The badge of `kind` (checked by `check_kind`) for `s`."""
    return DRAW[check_kind(kind)](session, s)
