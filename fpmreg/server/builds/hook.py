"""The builds domain's side of `packages.build_hook.BuildHook`, wired by `create_app`."""

from __future__ import annotations

from sqlalchemy.orm import Session

from fpmreg.core.wire.builds import BuildStatus
from fpmreg.server.builds.service import BuildsService, build_status
from fpmreg.server.clock import Clock
from fpmreg.server.packages.models import Package, Version


class QueueBuilds:
    """Queue a build of every published version; say what each build showed."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock

    def version_added(self, session: Session, version: Version) -> None:
        """Queue the build in the publish's own transaction (docs/builds.md)."""
        BuildsService(session, self.clock).queue_build(version.id)

    def status_of(self, session: Session, package: Package, version: Version) -> BuildStatus | None:
        """The version's latest build as `/api/v1` shows it."""
        build = BuildsService(session, self.clock).build_of(version.id)
        if build is None:
            return None
        return build_status(build, package.namespace.name, package.name, version.version)
