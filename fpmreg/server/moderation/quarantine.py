"""Quarantine: a package under review is uninstallable, unlisted and frozen.

STUB for the `states` helper: the signatures are the contract other modules use.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from fpmreg.server.changes import ChangeCounter
from fpmreg.server.clock import Clock
from fpmreg.server.packages.models import Package
from fpmreg.server.packages.service import PackagesService


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
        """Quarantine a package; `actor_id=None` is the automatic rule. Audited."""
        raise NotImplementedError

    def release(self, actor_id: int | None, namespace: str, name: str, *, reason: str) -> Package:
        """End a quarantine. Audited."""
        raise NotImplementedError
