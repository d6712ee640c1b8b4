"""Yank and unyank: the soft delete of `docs/registry-rules.md`.

A yanked version is never offered as latest or for new resolutions, but stays
downloadable by its exact version, so builds and lock files that pinned it keep working.
Owners yank with a token that has the `yank` scope; moderators (from the API or from a
report's decision) call `set_yanked` with their own id.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from fpmreg.core.wire.index import MAX_YANK_REASON_LENGTH
from fpmreg.server.changes import ChangeCounter
from fpmreg.server.clock import Clock
from fpmreg.server.errors import Conflict, InvalidInput
from fpmreg.server.events import record_event
from fpmreg.server.packages.models import Version
from fpmreg.server.packages.service import PackagesService

# The wire's bound (`fpmreg.core.wire.index`), so the API documents what is enforced.
MAX_REASON_LENGTH = MAX_YANK_REASON_LENGTH


class YankService:
    """Yank and unyank versions, in the caller's transaction (it commits).

    Permission is the caller's: the API asks `permissions.require(..., Action.YANK)`."""

    def __init__(
        self,
        session: Session,
        clock: Clock,
        packages: PackagesService,
        changes: ChangeCounter | None = None,
    ) -> None:
        self.session = session
        self.clock = clock
        self.packages = packages
        self.changes = changes

    def _check_reason(self, reason: str) -> str:
        reason = reason.strip()
        if not reason:
            raise InvalidInput(
                "yank-reason-missing",
                "say why the version is yanked (users see it), e.g. `--reason "
                '"miscompiles with gfortran 13"`',
                "reason",
            )
        if len(reason) > MAX_REASON_LENGTH:
            raise InvalidInput(
                "yank-reason-too-long",
                f"the reason is over {MAX_REASON_LENGTH} characters",
                "reason",
            )
        return reason

    def set_yanked(
        self,
        actor_id: int | None,
        namespace: str,
        name: str,
        version: str,
        *,
        yanked: bool,
        reason: str,
        category: str = "",
    ) -> Version:
        """Set a version's yanked flag, record why, and refresh what "latest" means.

        The version must exist before the reason is looked at (404 first). Yanking a
        yanked version again with a new reason updates the reason; unyanking a version
        that is not yanked is a 409 `version-not-yanked`. A moderator's yank passes the
        report's `category`, so the transparency page counts it."""
        package = self.packages.get_package(namespace, name)
        row = self.packages.get_version(package, version)
        subject = f"package:{package.namespace.name}/{package.name}@{row.version}"
        if yanked:
            reason = self._check_reason(reason)
            if row.yanked and row.yank_reason == reason:
                return row  # idempotent: the same yank twice is not an error
            action = "version.yank" if not row.yanked else "version.yank-reason"
        else:
            if not row.yanked:
                raise Conflict(
                    "version-not-yanked",
                    f"`{package.namespace.name}/{package.name}` {row.version} is not yanked: "
                    "there is nothing to undo",
                    "version",
                )
            action, reason = "version.unyank", reason.strip()
        row.yanked = yanked
        row.yank_reason = reason if yanked else ""
        self.session.flush()
        self.packages.refresh_package(package)
        record_event(
            self.session,
            at=self.clock.now(),
            actor_id=actor_id,
            action=action,
            subject=subject,
            reason=reason,
            category=category,
        )
        self.session.flush()
        if self.changes is not None:
            self.changes.bump(self.session)
        return row
