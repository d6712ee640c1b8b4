"""What the packages domain tells build verification, and asks it: a small interface.

`packages` sits below `builds` (docs/architecture.md, "Layers"), so a publish tells a
`BuildHook` that a version was added (the builds domain queues its build in the same
transaction), and the version endpoint asks it what the build showed; `create_app`
wires in `fpmreg.server.builds.hook.QueueBuilds` when FPMREG_BUILD_VERIFICATION is on
(docs/builds.md).
"""

from __future__ import annotations

from typing import Protocol

from sqlalchemy.orm import Session

from fpmreg.core.wire.builds import BuildStatus
from fpmreg.server.packages.models import Package, Version


class BuildHook(Protocol):
    """Queues a new version's build and says what a version's build showed."""

    def version_added(self, session: Session, version: Version) -> None:
        """A version was flushed in `session`'s transaction."""

    def status_of(self, session: Session, package: Package, version: Version) -> BuildStatus | None:
        """The version's build, or None if it was never queued."""


class NoBuilds:
    """No build verification (the default)."""

    def version_added(self, session: Session, version: Version) -> None:
        """Nothing to queue."""

    def status_of(self, session: Session, package: Package, version: Version) -> BuildStatus | None:
        """Never built."""
        return None
