"""Queue builds, record their outcome, and say what a version's build showed.

No HTTP here (docs/architecture.md); the service flushes and its caller commits. The
build itself is `jobs.py`, its sandbox `sandbox.py` (docs/builds.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from fpmreg.core.resolve_index import IndexVersion
from fpmreg.core.wire.builds import BuildStatus
from fpmreg.server.builds.models import (
    MAX_LOG_CHARS,
    MAX_SUMMARY_CHARS,
    MAX_TOOL_VERSION_CHARS,
    Build,
    BuildOutcome,
)
from fpmreg.server.clock import Clock
from fpmreg.server.errors import DomainError
from fpmreg.server.jobs import enqueue
from fpmreg.server.packages.models import Version
from fpmreg.server.packages.service import PackagesService

BUILD_VERSION = "builds.verify"
# A build's job is retried only for the worker's own trouble (a storage outage); a
# package that fails to build is a recorded outcome, not a failed job.
BUILD_MAX_ATTEMPTS = 3
PENDING_SUMMARY = "the registry has not built this version yet"


def log_path(namespace: str, name: str, version: str) -> str:
    """Where a version's build log is served (`builds/pages.py`)."""
    return f"/project/{namespace}/{name}/{version}/build.log"


@dataclass(frozen=True)
class Outcome:
    """What one build found, ready to be recorded."""

    outcome: BuildOutcome
    summary: str
    log: str = ""
    fpm_version: str = ""
    compiler_version: str = ""
    tests_run: bool = False
    dependencies_verified: bool = True


class BuildsService:
    """Queue builds and record them, in the caller's transaction."""

    def __init__(self, session: Session, clock: Clock) -> None:
        self.session = session
        self.clock = clock

    def queue_build(self, version_id: int) -> Build:
        """Mark the version's build pending and enqueue its job (run only if the
        caller's transaction commits)."""
        build = self.build_of(version_id)
        now = self.clock.now()
        if build is None:
            build = Build(version_id=version_id, queued_at=now)
            self.session.add(build)
        build.outcome = BuildOutcome.PENDING
        build.summary = PENDING_SUMMARY
        build.log = ""
        build.tests_run = False
        build.dependencies_verified = True
        build.queued_at = now
        build.finished_at = None
        enqueue(
            self.session,
            BUILD_VERSION,
            {"version_id": version_id},
            at=now,
            max_attempts=BUILD_MAX_ATTEMPTS,
        )
        self.session.flush()
        return build

    def build_of(self, version_id: int) -> Build | None:
        """The version's latest build, if it was ever queued."""
        return self.session.scalar(select(Build).where(Build.version_id == version_id))

    def record(self, version_id: int, outcome: Outcome) -> Build:
        """Store what a build found (the end of its log, when the log is long)."""
        build = self.build_of(version_id)
        if build is None:
            build = Build(version_id=version_id, queued_at=self.clock.now())
            self.session.add(build)
        build.outcome = outcome.outcome
        build.summary = outcome.summary[:MAX_SUMMARY_CHARS]
        build.log = outcome.log[-MAX_LOG_CHARS:].replace("\x00", "\ufffd")
        build.fpm_version = outcome.fpm_version[:MAX_TOOL_VERSION_CHARS]
        build.compiler_version = outcome.compiler_version[:MAX_TOOL_VERSION_CHARS]
        build.tests_run = outcome.tests_run
        build.dependencies_verified = outcome.dependencies_verified
        build.finished_at = self.clock.now()
        self.session.flush()
        return build


def build_status(build: Build, namespace: str, name: str, version: str) -> BuildStatus:
    """A build as `/api/v1` and the version page show it."""
    finished = build.finished_at.strftime("%Y-%m-%dT%H:%M:%SZ") if build.finished_at else ""
    return BuildStatus(
        outcome=build.outcome,
        summary=build.summary,
        fpm_version=build.fpm_version,
        compiler_version=build.compiler_version,
        tests_run=build.tests_run,
        dependencies_verified=build.dependencies_verified,
        finished_at=finished,
        log_url=log_path(namespace, name, version) if build.log else "",
    )


class StoredIndex:
    """The resolver's `Index` read from this registry's own database, for a build's
    dependencies (the same versions `/api/v1/index` lists; quarantined, deleted and
    unknown packages have none)."""

    def __init__(self, packages: PackagesService) -> None:
        self.packages = packages

    def versions(self, namespace: str, name: str) -> Sequence[IndexVersion]:
        """Every version of `namespace/name`, yanked ones flagged."""
        try:
            package = self.packages.available_package(namespace, name)
        except DomainError:
            return []
        return [_index_version(v) for v in self.packages.versions(package)]


def _index_version(version: Version) -> IndexVersion:
    ranges = {d["name"]: d["requirement"] for d in version.dependencies if "requirement" in d}
    return IndexVersion(
        version=version.version,
        sha256=version.sha256,
        yanked=version.yanked,
        dependencies=tuple(version.dependencies),
        ranges=ranges,
    )
