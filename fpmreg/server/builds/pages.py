"""The build's part of the version page, and the build log (docs/builds.md)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response
from sqlalchemy.orm import object_session

from fpmreg.core.wire.builds import BuildStatus
from fpmreg.server.accounts.deps import CurrentUser
from fpmreg.server.builds.service import BuildsService, build_status
from fpmreg.server.clock import SystemClock
from fpmreg.server.errors import NotFound
from fpmreg.server.http import StateDep
from fpmreg.server.moderation.permissions import Action, allowed
from fpmreg.server.moderation.roles import principals_for
from fpmreg.server.packages.deps import PackagesDep
from fpmreg.server.packages.models import Package, Version

router = APIRouter(include_in_schema=False)


def version_build(package: Package, version: Version) -> BuildStatus | None:
    """The shown version's build, for `templates/builds/_status.html` (a template
    global: the version page is composed elsewhere and passes only `shown`)."""
    session = object_session(version)
    if session is None:
        return None
    build = BuildsService(session, SystemClock()).build_of(version.id)
    if build is None:
        return None
    return build_status(build, package.namespace.name, package.name, version.version)


def no_build(package: Package, version: Version) -> None:
    """`version_build` while FPMREG_BUILD_VERIFICATION is off: nothing, without a query."""


@router.get("/project/{namespace}/{name}/{version}/build.log")
def build_log(
    namespace: str,
    name: str,
    version: str,
    user: CurrentUser,
    packages: PackagesDep,
    state: StateDep,
) -> Response:
    """The log of the version's latest build, as plain text (never rendered as HTML:
    it holds the package's own output)."""
    if not state.settings.build_verification:
        raise NotFound("build-log-not-found", "this registry does not build packages")
    package = packages.get_package(namespace, name)
    if package.quarantined_at is not None:
        principals = principals_for(packages.session, user, package.namespace_id, package.id)
        if not allowed(principals, Action.DEPRECATE):  # as the version page decides
            raise NotFound("package-not-found", f"package `{namespace}/{name}` not found")
    row = packages.get_version(package, version)
    build = BuildsService(packages.session, state.clock).build_of(row.id)
    if build is None or not build.log:
        raise NotFound(
            "build-log-not-found",
            f"`{namespace}/{name}` {row.version} has no build log: it was not built yet",
        )
    return Response(
        build.log,
        media_type="text/plain; charset=utf-8",
        headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "no-cache"},
    )
