"""A mirror applies its origin's moderation and advisories (docs/mirrors.md, "Syncing").

The federation domain verifies each record of the origin's log; this is where a
verified yank, deprecation, quarantine or delete becomes the same change to the local
copy, through the moderation services, so it is audited, logged as a record of this
registry too, and shown as any other.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from pydantic import ValidationError
from sqlalchemy.orm import Session

from fpmreg.core.wire.expectations import ExpectationsRequest
from fpmreg.core.wire.moderation import CATEGORIES
from fpmreg.server.advisories.schema import record_problems
from fpmreg.server.advisories.transfer import store_record
from fpmreg.server.changes import ChangeCounter
from fpmreg.server.clock import Clock
from fpmreg.server.errors import Conflict, InvalidInput
from fpmreg.server.federation.mirror_sync import Refused
from fpmreg.server.federation.remote import RemoteError, fetch_json
from fpmreg.server.moderation.deletion import DeletionService
from fpmreg.server.moderation.deprecation import DeprecationService
from fpmreg.server.moderation.permissions import Principal
from fpmreg.server.moderation.quarantine import QuarantineService
from fpmreg.server.moderation.yanking import YankService
from fpmreg.server.packages.expectations import ACTION as EXPECTATIONS
from fpmreg.server.packages.expectations import ExpectationsService
from fpmreg.server.packages.service import PackagesService
from fpmreg.server.storage import BlobStore

ORIGIN_DECIDED = "decided by the origin registry"
DECLARED = ("status", "response", "contact", "supported")  # the logged part of expectations


class ModerationMirrorActions:
    """`federation.mirror_sync.MirrorActions` on the moderation services."""

    def __init__(
        self, clock: Clock, store: BlobStore, changes: ChangeCounter | None, *,
        allow_private: bool = False,
    ) -> None:  # fmt: skip
        self.clock = clock
        self.store = store
        self.changes = changes
        self.allow_private = allow_private

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
            if action.startswith("advisory."):
                self._advisory(session, record, namespace)
            elif action.startswith("version."):
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
        elif action == EXPECTATIONS:
            self._expectations(session, packages, namespace, name, record)

    def _expectations(
        self, session: Session, packages: PackagesService, namespace: str, name: str,
        record: dict[str, Any],
    ) -> None:  # fmt: skip
        """The origin's owners' declaration, as its record signs it (the note, not logged,
        stays on the origin): checked again here like any declaration."""
        declared = record.get("expectations")
        if not isinstance(declared, dict):
            raise Refused("the expectations record has no `expectations` object")
        try:
            request = ExpectationsRequest.model_validate(
                {
                    key: declared.get(key, "")
                    for key in ("status", "response", "contact", "supported")
                }
            )
        except ValidationError as exc:
            problem = exc.errors()[0]["msg"]
            raise Refused(f"the declared expectations are not valid: {problem}") from None
        package = packages.get_package(namespace, name)
        ExpectationsService(session, self.clock).declare(None, package, request)

    def _advisory(self, session: Session, record: dict[str, Any], namespace: str) -> None:
        """Take the origin's OSV record of a published or withdrawn advisory: the log
        says it was published; its text comes from the origin's OSV API, checked
        against the OSV schema, with the package renamed into the local namespace."""
        osv_id = str(record.get("advisory", ""))
        url = f"{record.get('registry')}/v1/vulns/{quote(osv_id, safe='')}"
        try:
            document = fetch_json(url, allow_private=self.allow_private)
        except RemoteError as exc:
            raise Refused(f"the advisory cannot be read: {exc}") from None
        if not isinstance(document, dict) or document.get("id") != osv_id:
            raise Refused(f"`{url}` is not the OSV record {osv_id}")
        remote_ns = str(record.get("package", "")).partition("/")[0]
        for affected in document.get("affected") or []:
            package = affected.get("package") if isinstance(affected, dict) else None
            if not isinstance(package, dict):
                continue
            name = package.get("name")
            if isinstance(name, str) and name.partition("/")[0] == remote_ns:
                package["name"] = f"{namespace}/{name.partition('/')[2]}"
        problems = record_problems(document, osv_id.partition("-")[0])
        if problems:
            raise Refused(f"the advisory {osv_id} is not a valid OSV record: {problems[0].message}")
        store_record(session, self.clock, document, url)

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
