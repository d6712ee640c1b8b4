"""Hard delete with tombstones.

STUB for the `states` helper: the signatures are the contract other modules use.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from fpmreg.server.changes import ChangeCounter
from fpmreg.server.clock import Clock
from fpmreg.server.moderation.permissions import Principal
from fpmreg.server.packages.models import Tombstone
from fpmreg.server.packages.service import PackagesService
from fpmreg.server.storage import BlobStore


class DeletionService:
    """Delete versions and packages for good, leaving tombstones (caller commits)."""

    def __init__(
        self,
        session: Session,
        clock: Clock,
        packages: PackagesService,
        store: BlobStore,
        changes: ChangeCounter | None = None,
    ) -> None:
        self.session = session
        self.clock = clock
        self.packages = packages
        self.store = store
        self.changes = changes

    def delete_version(
        self,
        actor_id: int,
        principals: set[Principal],
        namespace: str,
        name: str,
        version: str,
        *,
        reason: str,
        category: str,
    ) -> Tombstone:
        """Delete one version: moderators any time, owners within the rules. Audited."""
        raise NotImplementedError

    def delete_package(
        self,
        actor_id: int,
        principals: set[Principal],
        namespace: str,
        name: str,
        *,
        reason: str,
        category: str,
    ) -> Tombstone:
        """Delete a package and every version of it. Audited."""
        raise NotImplementedError
