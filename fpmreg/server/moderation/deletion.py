"""Hard delete with tombstones (docs/registry-rules.md, "Yank, deprecate, quarantine, delete").

Moderators delete at any time; owners only within `fpmreg.core.delete_rule`'s rule.
The rows go in the caller's transaction; the blob is removed from storage only after
it commits (and only if no other version owns the same bytes). A `Tombstone` row keeps
`namespace/name@version` from ever being published again and, for a whole package,
holds the name for `NAME_HOLD`.

Download counts belong to the metrics domain, which moderation may not import: the
count comes through `DownloadTotals`, a callable `create_app` plugs in
(`ModerationWiring` in `deps.py`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from fpmreg.core.delete_rule import may_owner_delete
from fpmreg.server.changes import ChangeCounter
from fpmreg.server.clock import Clock
from fpmreg.server.errors import Forbidden
from fpmreg.server.events import record_event
from fpmreg.server.moderation.permissions import Action, Principal, allowed, require
from fpmreg.server.moderation.quarantine import check_reason
from fpmreg.server.packages.models import Package, Tombstone, Version
from fpmreg.server.packages.service import PackagesService
from fpmreg.server.packages.tombstones import find_tombstone
from fpmreg.server.storage import BlobStore
from fpmreg.server.transaction import after_commit

# A deleted package's name stays reserved this long, so nobody can register it at once
# and serve something else (maybe malicious) to the users whose fpm.toml still names it
# (RubyGems' reservation after the 2016-2020 name hijacks; PyPI's "prohibited names").
NAME_HOLD = timedelta(days=90)

# All-time downloads of the given version ids (the metrics domain answers it).
DownloadTotals = Callable[[Session, list[int]], int]


def no_downloads(_session: Session, _version_ids: list[int]) -> int:
    """The `DownloadTotals` of a registry without metrics: nothing was downloaded."""
    return 0


class DeletionService:
    """Delete versions and packages for good, leaving tombstones (caller commits)."""

    def __init__(
        self,
        session: Session,
        clock: Clock,
        packages: PackagesService,
        store: BlobStore,
        changes: ChangeCounter | None = None,
        downloads: DownloadTotals = no_downloads,
    ) -> None:
        self.session = session
        self.clock = clock
        self.packages = packages
        self.store = store
        self.changes = changes
        self.downloads = downloads

    def delete_version(
        self,
        actor_id: int | None,
        principals: set[Principal],
        namespace: str,
        name: str,
        version: str,
        *,
        reason: str,
        category: str,
    ) -> Tombstone:
        """Delete one version: moderators any time, owners within the rules. Audited."""
        package = self.packages.get_package(namespace, name)
        row = self.packages.get_version(package, version)
        reason = check_reason(reason, category)
        label = f"{package.namespace.name}/{package.name}@{row.version}"
        self._authorize(principals, package, [row], label)
        tombstone = self._bury(package, row, category)
        self._remove(package, [row])
        self.packages.refresh_package(package)
        self._record(actor_id, f"package:{label}", "version.delete", reason, category)
        return tombstone

    def delete_package(
        self,
        actor_id: int | None,
        principals: set[Principal],
        namespace: str,
        name: str,
        *,
        reason: str,
        category: str,
    ) -> Tombstone:
        """Delete a package and every version of it; hold its name. Audited."""
        package = self.packages.get_package(namespace, name)
        reason = check_reason(reason, category)
        rows = self.packages.versions(package)
        label = f"{package.namespace.name}/{package.name}"
        self._authorize(principals, package, rows, label)
        for row in rows:
            self._bury(package, row, category)
        tombstone = self._bury(package, None, category)
        self._remove(package, rows)
        self.session.delete(package)
        self.session.flush()
        self._record(
            actor_id,
            f"package:{label}",
            "package.delete",
            reason,
            category,
            {"versions": [r.version for r in rows]},
        )
        return tombstone

    def _authorize(
        self, principals: set[Principal], package: Package, rows: list[Version], label: str
    ) -> None:
        """Moderators may; owners only when every version passes the owners' rule."""
        if allowed(principals, Action.DELETE_ANY):
            return
        require(principals, Action.DELETE_OWN_RECENT, label)
        now = self.clock.now()
        for row in rows:
            verdict = may_owner_delete(
                row.published_at,
                now,
                dependents=self.packages.dependents(package, row.version),
                downloads=self.downloads(self.session, [row.id]),
            )
            if not verdict.allowed:
                raise Forbidden(
                    "owner-delete-refused",
                    f"owners may not delete `{package.namespace.name}/{package.name}@"
                    f"{row.version}`: {verdict.reason}",
                )

    def _bury(self, package: Package, row: Version | None, category: str) -> Tombstone:
        """Write (or, for a package deleted again after its hold, renew) a tombstone."""
        now = self.clock.now()
        version = row.version if row is not None else ""
        tombstone = find_tombstone(self.session, package.namespace.name, package.name, version)
        if tombstone is None:
            tombstone = Tombstone(
                namespace_canonical=package.namespace.canonical,
                package_canonical=package.canonical,
                version=version,
            )
            self.session.add(tombstone)
        tombstone.namespace = package.namespace.name
        tombstone.name = package.name
        tombstone.sha256 = row.sha256 if row is not None else ""
        tombstone.category = category
        tombstone.deleted_at = now
        tombstone.name_held_until = now + NAME_HOLD if row is None else None
        return tombstone

    def _remove(self, package: Package, rows: list[Version]) -> None:
        """Delete the rows now and their blobs once the transaction has committed."""
        for row in rows:
            self.session.delete(row)
        self.session.flush()
        for sha256 in {r.sha256 for r in rows}:
            after_commit(self.session, lambda sha256=sha256: self._remove_blob(sha256))  # type: ignore[misc]

    def _remove_blob(self, sha256: str) -> None:
        """After the commit: remove the blob unless another version owns the same bytes."""
        with Session(bind=self.session.get_bind()) as fresh:
            owned = fresh.scalar(select(Version.id).where(Version.sha256 == sha256).limit(1))
        if owned is None:
            self.store.delete(sha256)

    def _record(
        self,
        actor_id: int | None,
        subject: str,
        action: str,
        reason: str,
        category: str,
        data: dict[str, object] | None = None,
    ) -> None:
        record_event(
            self.session,
            at=self.clock.now(),
            actor_id=actor_id,
            action=action,
            subject=subject,
            reason=reason,
            category=category,
            data=dict(data or {}),
        )
        self.session.flush()
        if self.changes is not None:  # the fpm caches stop serving it at once
            self.changes.bump(self.session)
