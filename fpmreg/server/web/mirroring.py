"""A mirror applies its origin's moderation (docs/mirrors.md, "What a mirror applies").

The federation domain verifies each record of the origin's log; this is where a
verified yank, deprecation, quarantine or delete becomes the same change to the local
copy, through the moderation services, so it is audited, logged as a record of this
registry too, and shown as any other.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from fpmreg.core.wire.moderation import CATEGORIES
from fpmreg.server.changes import ChangeCounter
from fpmreg.server.clock import Clock
from fpmreg.server.errors import Conflict, InvalidInput
from fpmreg.server.moderation.deletion import DeletionService
from fpmreg.server.moderation.deprecation import DeprecationService
from fpmreg.server.moderation.permissions import Principal
from fpmreg.server.moderation.quarantine import QuarantineService
from fpmreg.server.moderation.yanking import YankService
from fpmreg.server.packages.service import PackagesService
from fpmreg.server.storage import BlobStore

ORIGIN_DECIDED = "decided by the origin registry"


class ModerationMirrorActions:
    """`federation.mirror_sync.MirrorActions` on the moderation services."""

    def __init__(self, clock: Clock, store: BlobStore, changes: ChangeCounter | None) -> None:
        self.clock = clock
        self.store = store
        self.changes = changes

    def apply(
        self, session: Session, packages: PackagesService, record: dict[str, Any],
        namespace: str, name: str, version: str,
    ) -> None:  # fmt: skip
        """Make the local copy of `namespace/name[@version]` say what `record` says."""
        action = str(record.get("action", ""))
        reason = str(record.get("reason", "")) or ORIGIN_DECIDED
        category = str(record.get("category", ""))
        category = category if category in CATEGORIES else "other"
        try:
            if action.startswith("version."):
                self._version(session, packages, action, namespace, name, version, reason,
                              category)  # fmt: skip
            else:
                self._package(session, packages, action, namespace, name, record, category)
        except Conflict:
            pass  # already in that state here (a repeat, or a change made locally)

    def _version(
        self, session: Session, packages: PackagesService, action: str, namespace: str,
        name: str, version: str, reason: str, category: str,
    ) -> None:  # fmt: skip
        if action in ("version.yank", "version.yank-reason", "version.unyank"):
            yanks = YankService(session, self.clock, packages, self.changes)
            yanks.set_yanked(None, namespace, name, version, yanked=action != "version.unyank",
                             reason=reason if action != "version.unyank" else "")  # fmt: skip
        elif action == "version.delete":
            self._deletion(session, packages).delete_version(
                None, {Principal.MODERATOR}, namespace, name, version,
                reason=ORIGIN_DECIDED, category=category,
            )  # fmt: skip

    def _package(
        self, session: Session, packages: PackagesService, action: str, namespace: str,
        name: str, record: dict[str, Any], category: str,
    ) -> None:  # fmt: skip
        if action == "package.deprecate":
            deprecations = DeprecationService(session, self.clock, packages, self.changes)
            message = str(record.get("reason", "")) or "deprecated on the origin registry"
            try:
                deprecations.deprecate(None, namespace, name, message=message,
                                       replacement=_local(record, namespace))  # fmt: skip
            except InvalidInput:  # the replacement is not mirrored here
                deprecations.deprecate(None, namespace, name, message=message)
        elif action == "package.undeprecate":
            DeprecationService(session, self.clock, packages, self.changes).undeprecate(
                None, namespace, name
            )
        elif action == "package.quarantine":
            QuarantineService(session, self.clock, packages, self.changes).quarantine(
                None, namespace, name, reason=ORIGIN_DECIDED, category=category
            )
        elif action == "package.release":
            QuarantineService(session, self.clock, packages, self.changes).release(
                None, namespace, name, reason=ORIGIN_DECIDED
            )
        elif action == "package.delete":
            self._deletion(session, packages).delete_package(
                None, {Principal.MODERATOR}, namespace, name,
                reason=ORIGIN_DECIDED, category=category,
            )  # fmt: skip

    def _deletion(self, session: Session, packages: PackagesService) -> DeletionService:
        return DeletionService(session, self.clock, packages, self.store, self.changes)


def _local(record: dict[str, Any], namespace: str) -> str:
    """The replacement a deprecation names, in the mirror's namespace when it is one
    of the origin's packages of the same namespace."""
    replacement = str(record.get("replacement", ""))
    remote_ns, _, name = replacement.partition("/")
    package = str(record.get("package", ""))
    if name and remote_ns == package.partition("/")[0]:
        return f"{namespace}/{name}"
    return replacement
