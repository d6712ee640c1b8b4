"""Quarantine: a package under review is uninstallable, unlisted and frozen.

Moderators, or the automatic rule on corroborated malware reports (`actor_id=None`),
put a package under review until a moderator decides (PyPI's quarantine;
docs/registry-rules.md, "Yank, deprecate, quarantine, delete"). The packages domain
enforces it: `PackagesService.available_package` refuses it on every install path,
search and namespace listings leave it out, and a publish to it is refused.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from fpmreg.core.wire.moderation import CATEGORIES, MAX_MODERATION_REASON_LENGTH
from fpmreg.server.changes import ChangeCounter
from fpmreg.server.clock import Clock
from fpmreg.server.errors import Conflict, InvalidInput
from fpmreg.server.events import Event, record_event
from fpmreg.server.packages.models import Package
from fpmreg.server.packages.service import PackagesService


def check_reason(reason: str, category: str | None) -> str:
    """A moderation reason (kept in the audit log) and, unless None, its category."""
    reason = reason.strip()
    if not reason:
        raise InvalidInput(
            "reason-missing", "say why (kept in the audit log, never shown publicly)", "reason"
        )
    if len(reason) > MAX_MODERATION_REASON_LENGTH:
        raise InvalidInput(
            "reason-too-long",
            f"the reason is over {MAX_MODERATION_REASON_LENGTH} characters",
            "reason",
        )
    if category is not None and category not in CATEGORIES:
        raise InvalidInput(
            "category-invalid",
            f"`{category}` is not a category: use one of " + ", ".join(CATEGORIES),
            "category",
        )
    return reason


class QuarantineService:
    """Put packages under review and release them, in the caller's transaction."""

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

    def quarantine(
        self, actor_id: int | None, namespace: str, name: str, *, reason: str, category: str
    ) -> Package:
        """Quarantine a package; `actor_id=None` is the automatic rule. Audited.

        Quarantining a package already under review changes nothing (no new event)."""
        package = self.packages.get_package(namespace, name)
        reason = check_reason(reason, category)
        if package.quarantined_at is not None:
            return package
        package.quarantined_at = self.clock.now()
        self._record(actor_id, package, "package.quarantine", reason, category)
        return package

    def release(self, actor_id: int | None, namespace: str, name: str, *, reason: str) -> Package:
        """End a quarantine (409 `package-not-quarantined` when there is none). Audited."""
        package = self.packages.get_package(namespace, name)
        if package.quarantined_at is None:
            raise Conflict(
                "package-not-quarantined",
                f"`{package.namespace.name}/{package.name}` is not quarantined: "
                "there is nothing to release",
            )
        package.quarantined_at = None
        # A release is a moderation action of the quarantine's category, so the public
        # transparency page counts it (docs/moderation.md, "Transparency").
        category = self._quarantine_category(package)
        self._record(actor_id, package, "package.release", reason.strip(), category)
        return package

    def _quarantine_category(self, package: Package) -> str:
        """The category of the quarantine now ending (`other` if none was recorded)."""
        found = self.session.scalar(
            select(Event.category)
            .where(
                Event.action == "package.quarantine",
                Event.subject == f"package:{package.namespace.name}/{package.name}",
            )
            .order_by(Event.id.desc())
            .limit(1)
        )
        return found or "other"

    def _record(
        self, actor_id: int | None, package: Package, action: str, reason: str, category: str
    ) -> None:
        record_event(
            self.session,
            at=self.clock.now(),
            actor_id=actor_id,
            action=action,
            subject=f"package:{package.namespace.name}/{package.name}",
            reason=reason,
            category=category,
            data={"automatic": actor_id is None},
        )
        self.session.flush()
        if self.changes is not None:  # the fpm caches stop serving it at once
            self.changes.bump(self.session)
