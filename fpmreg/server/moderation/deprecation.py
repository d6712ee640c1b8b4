"""Deprecation by a package's owners: a message and, optionally, the package to use
instead (npm deprecate; docs/registry-rules.md, "Yank, deprecate, quarantine, delete").

A deprecated package is still served; pages show a banner, and `/api/v1`, the index
and fpm's metadata carry it so `fpmreg lock` and `sync` warn and name the replacement.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from fpmreg.core.wire.moderation import MAX_DEPRECATION_MESSAGE_LENGTH
from fpmreg.server.changes import ChangeCounter
from fpmreg.server.clock import Clock
from fpmreg.server.errors import Conflict, InvalidInput, NotFound
from fpmreg.server.events import record_event
from fpmreg.server.packages.models import Package
from fpmreg.server.packages.service import PackagesService


class DeprecationService:
    """Deprecate and undeprecate packages, in the caller's transaction.

    Permission is the caller's: `permissions.require(..., Action.DEPRECATE)`."""

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

    def _replacement(self, package: Package, text: str) -> str:
        """`namespace/name` of an existing package other than `package`, or ""."""
        text = text.strip()
        if not text:
            return ""
        namespace, slash, name = text.partition("/")
        if not slash or not namespace or not name or "/" in name:
            raise InvalidInput(
                "replacement-invalid",
                f"`{text}` is not `namespace/name`: name the package to use instead",
                "replacement",
            )
        try:
            target = self.packages.get_package(namespace, name)
        except NotFound as exc:
            raise InvalidInput(
                "replacement-not-found",
                f"the replacement `{text}` is not a package of this registry: name one that is",
                "replacement",
            ) from exc
        if target.id == package.id:
            raise InvalidInput(
                "replacement-is-itself",
                "a package cannot be its own replacement: name another package, or none",
                "replacement",
            )
        return f"{target.namespace.name}/{target.name}"

    def deprecate(
        self,
        actor_id: int | None,
        namespace: str,
        name: str,
        *,
        message: str,
        replacement: str = "",
    ) -> Package:
        """Mark a package deprecated (again, with a new message, is an update). Audited."""
        package = self.packages.get_package(namespace, name)
        message = message.strip()
        if not message:
            raise InvalidInput(
                "deprecation-message-missing",
                "say why the package is deprecated and what to do (users see it)",
                "message",
            )
        if len(message) > MAX_DEPRECATION_MESSAGE_LENGTH:
            raise InvalidInput(
                "deprecation-message-too-long",
                f"the message is over {MAX_DEPRECATION_MESSAGE_LENGTH} characters",
                "message",
            )
        chosen = self._replacement(package, replacement)
        package.deprecated_at = package.deprecated_at or self.clock.now()
        package.deprecation_message = message
        package.replacement = chosen
        self._record(actor_id, package, "package.deprecate", message, {"replacement": chosen})
        return package

    def undeprecate(self, actor_id: int | None, namespace: str, name: str) -> Package:
        """Remove the deprecation (409 `package-not-deprecated` if there is none). Audited."""
        package = self.packages.get_package(namespace, name)
        if package.deprecated_at is None:
            raise Conflict(
                "package-not-deprecated",
                f"`{package.namespace.name}/{package.name}` is not deprecated: "
                "there is nothing to undo",
            )
        package.deprecated_at = None
        package.deprecation_message = ""
        package.replacement = ""
        self._record(actor_id, package, "package.undeprecate", "", {})
        return package

    def _record(
        self, actor_id: int | None, package: Package, action: str, reason: str, data: dict[str, str]
    ) -> None:
        record_event(
            self.session,
            at=self.clock.now(),
            actor_id=actor_id,
            action=action,
            subject=f"package:{package.namespace.name}/{package.name}",
            reason=reason,
            data=dict(data),
        )
        self.session.flush()
        if self.changes is not None:  # fpm's metadata carries the deprecation
            self.changes.bump(self.session)
