"""Proxy registries: a community's view of the registry for fpm, serving only the
releases its default policy passes (docs/communities.md, "Proxy registries").

`{base}/c/{community}/fpm` is an fpm `[registry] url`. Its metadata lists only the
releases whose current verdict under the community's policy `default` is PASSED, on
the release's own bytes and the policy's latest version; its tarball route serves only
those. Everything else answers fpm's envelope with code 403 and a message naming the
policy and the first reason of the verdict. The same quarantine and deletion rules as
the main fpm API apply (`PackagesService.available_package`, `get_version`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fpmreg.server.communities.models import Community, CommunityDocument, CommunityVerdict
from fpmreg.server.communities.service import CommunitiesService
from fpmreg.server.errors import Forbidden, NotFound
from fpmreg.server.packages.models import Package, Version
from fpmreg.server.packages.schemas import fpm_package_document, tarball_path
from fpmreg.server.packages.service import PackagesService
from fpmreg.server.settings import DownloadUrlMode, Settings

# The policy a proxy registry serves by (docs/communities.md, "Proxy registries").
DEFAULT_POLICY = "default"
PASSED = "PASSED"
# Passing versions named in a refusal, newest first.
MAX_NAMED_VERSIONS = 5


def proxy_url(communities: CommunitiesService, community: Community) -> str:
    """The community's proxy registry: what fpm's `[registry] url` names."""
    return f"{communities.uri(community)}/fpm"


def proxy_tarball_path(community: str, namespace: str, name: str, version: str) -> str:
    """A tarball's path on the proxy: `[A-Za-z0-9._/-]` only, safe in fpm's `curl`."""
    return f"/c/{community}/fpm{tarball_path(namespace, name, version)}"


def proxy_download_url(settings: Settings, community: str, ns: str, name: str, v: str) -> str:
    """`download_url` on the proxy, as `fpm_download_url` writes it for the main API
    (root-relative, or `@host` in the userinfo mode, docs/fpm-protocol.md §2.3)."""
    path = proxy_tarball_path(community, ns, name, v)
    if settings.download_url_mode is DownloadUrlMode.USERINFO:
        return f"@{settings.public_host}{path}"
    return path


@dataclass(frozen=True)
class ProxyPolicy:
    """The community a proxy serves for, and the latest version of its default policy."""

    community: Community
    policy: CommunityDocument
    uri: str  # the policy's URI (all versions)


class ProxyService:
    """What one community's proxy registry serves. Reads only."""

    def __init__(
        self, session: Session, communities: CommunitiesService, packages: PackagesService
    ) -> None:
        self.session = session
        self.communities = communities
        self.packages = packages

    def policy(self, name: str) -> ProxyPolicy:
        """The community `name` and its default policy, or a 404 saying what to do."""
        found = self.session.scalar(select(Community).where(Community.name == name.lower()))
        if found is None:
            raise NotFound(
                "community-not-found",
                f"there is no community `{name[:63]}` on this registry: check the "
                f"community's name in `[registry] url` (`{self.communities.base}/c/NAME/fpm`)",
            )
        policy = next(
            (d for d in self.communities.latest(found, "policies") if d.slug == DEFAULT_POLICY),
            None,
        )
        if policy is None:
            raise NotFound(
                "proxy-without-policy",
                f"community `{found.name}` has no policy `{DEFAULT_POLICY}`, so its proxy "
                f"registry serves nothing: its founders publish one at "
                f"`{self.communities.uri(found, 'policies', DEFAULT_POLICY)}`",
            )
        return ProxyPolicy(found, policy, self.communities.uri(found, "policies", DEFAULT_POLICY))

    def verdicts(self, proxy: ProxyPolicy, package: Package) -> dict[str, CommunityVerdict]:
        """The current verdict of the default policy on each release of `package`."""
        key = f"{package.namespace.name}/{package.name}".lower()
        newest = (
            select(func.max(CommunityVerdict.id))
            .where(
                CommunityVerdict.community_id == proxy.community.id,
                CommunityVerdict.policy_slug == DEFAULT_POLICY,
                CommunityVerdict.package == key,
            )
            .group_by(CommunityVerdict.version)
        )
        rows = self.session.scalars(
            select(CommunityVerdict).where(CommunityVerdict.id.in_(newest.scalar_subquery()))
        )
        return {row.version: row for row in rows}

    def passing(self, proxy: ProxyPolicy, package: Package) -> list[Version]:
        """The releases of `package` the proxy serves, newest first (yanked included)."""
        found = self.verdicts(proxy, package)
        return [v for v in self.packages.versions(package) if _passes(proxy, v, found)]

    def release(
        self, proxy: ProxyPolicy, namespace: str, name: str, text: str
    ) -> tuple[Package, Version]:
        """One release the proxy serves; 403 naming the policy when it does not pass,
        and the main API's 403 (quarantine), 404 and 410 (deleted) otherwise."""
        package = self.packages.available_package(namespace, name)
        version = self.packages.get_version(package, text)
        found = self.verdicts(proxy, package)
        if not _passes(proxy, version, found):
            raise Forbidden(
                "proxy-not-passing",
                self._refusal(proxy, package, version, found.get(version.version)),
            )
        return package, version

    def document(self, settings: Settings, proxy: ProxyPolicy, namespace: str, name: str,
                 version: str | None) -> tuple[Package, dict[str, Any]]:  # fmt: skip
        """fpm's document for the newest passing, non-yanked release (`version=None`)
        or a pinned passing one, listing only passing versions."""
        package = self.packages.available_package(namespace, name)
        if version is None:
            passing = self.passing(proxy, package)
            chosen = next((v for v in passing if not v.yanked), None)
            if chosen is None:
                raise self._none_passes(proxy, package, bool(passing))
        else:
            _, chosen = self.release(proxy, namespace, name, version)
            passing = self.passing(proxy, package)
        document = fpm_package_document(settings, package, passing, chosen, latest=version is None)
        data = document["data"]["latest_version_data" if version is None else "version_data"]
        data["download_url"] = proxy_download_url(
            settings, proxy.community.name, package.namespace.name, package.name, chosen.version
        )
        return package, document

    def _none_passes(self, proxy: ProxyPolicy, package: Package, yanked: bool) -> Forbidden:
        where = f"{package.namespace.name}/{package.name}"
        if yanked:
            return Forbidden(
                "proxy-all-yanked",
                f"every version of `{where}` that passes {self._named(proxy)} is yanked: "
                "pin an exact version with `v`",
            )
        newest = next(iter(self.packages.versions(package)), None)
        if newest is None:
            return Forbidden("proxy-not-passing", f"`{where}` has no version to serve")
        verdict = self.verdicts(proxy, package).get(newest.version)
        return Forbidden("proxy-not-passing", self._refusal(proxy, package, newest, verdict))

    def _named(self, proxy: ProxyPolicy) -> str:
        return f"policy `{DEFAULT_POLICY}` of community `{proxy.community.name}` ({proxy.uri})"

    def _refusal(self, proxy: ProxyPolicy, package: Package, version: Version,
                 verdict: CommunityVerdict | None) -> str:  # fmt: skip
        """Why a release is not served, with the versions that are."""
        where = f"{package.namespace.name}/{package.name} {version.version}"
        if verdict is None or verdict.policy_id != proxy.policy.id:
            why = "it has no verdict of this policy's current version yet"
        elif verdict.sha256 != version.sha256:
            why = "its verdict is on other bytes"
        else:
            why = first_reason(verdict) or "the verdict failed"
        served = [v.version for v in self.passing(proxy, package)][:MAX_NAMED_VERSIONS]
        tail = f"versions that pass: {', '.join(served)}" if served else "no version passes yet"
        return f"{where} does not pass {self._named(proxy)}: {why}; {tail}"


def _passes(proxy: ProxyPolicy, version: Version, found: dict[str, CommunityVerdict]) -> bool:
    """A current PASSED verdict, of the policy's latest version, on these bytes."""
    verdict = found.get(version.version)
    return (
        verdict is not None
        and verdict.result == PASSED
        and verdict.policy_id == proxy.policy.id
        and verdict.sha256 == version.sha256
    )


def first_reason(verdict: CommunityVerdict) -> str:
    """The first reason of a verdict document's explanation (docs/communities.md,
    "The verdict document"), or "" when it has none."""
    try:
        reasons = json.loads(verdict.body)["predicate"]["fpmregVet"]["reasons"]
        return str(reasons[0]["message"]) if reasons else ""
    except (ValueError, KeyError, IndexError, TypeError):
        return ""
