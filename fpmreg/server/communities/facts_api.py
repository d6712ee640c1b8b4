"""`GET /api/v1/packages/{ns}/{name}/{version}/facts`: what the registry attests about a
release (docs/vetting.md, "Facts the registry attests")."""

from __future__ import annotations

from fastapi import APIRouter

from fpmreg.core.wire.facts import ReleaseFacts
from fpmreg.server.communities.facts import facts_wire
from fpmreg.server.openapi import api_errors
from fpmreg.server.packages.deps import PackagesDep
from fpmreg.server.packages.schemas import NamePath, NamespacePath, VersionPath

router = APIRouter(prefix="/api/v1", tags=["communities"])


@router.get(
    "/packages/{namespace}/{name}/{version}/facts",
    summary="Facts the registry attests about a release",
    response_model=ReleaseFacts,
    responses=api_errors(400, 403, 404, 410),
)
def release_facts(
    namespace: NamespacePath, name: NamePath, version: VersionPath, packages: PackagesDep
) -> ReleaseFacts:
    """Build verified, two-factor publishing, declared expectations: the facts a
    policy's `requiresFacts` may name, true of this release now."""
    package = packages.available_package(namespace, name)
    found = packages.get_version(package, version)
    return facts_wire(packages.session, package, found)
