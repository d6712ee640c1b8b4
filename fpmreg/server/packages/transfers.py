"""Moving a package to another namespace, with the consent of both namespaces' admins.

An admin of the source requests it; an admin of the target accepts (either may cancel
while it is pending). On acceptance the package, its versions and its maintainers move;
tokens limited to the package in the old namespace are revoked. The old URLs answer 404
(no redirect): docs/accounts-tokens.md, "Transfers".
"""

from __future__ import annotations

from typing import Literal

from sqlalchemy import select, update

from fpmreg.core.names import canonical_name
from fpmreg.server.accounts.models import ApiToken, Namespace, User
from fpmreg.server.accounts.service import AccountsService
from fpmreg.server.errors import Conflict, Forbidden, NotFound
from fpmreg.server.events import record_event
from fpmreg.server.packages.maintainers import require_namespace_admin
from fpmreg.server.packages.models import Package, PackageTransfer
from fpmreg.server.packages.service import PackagesService

TransferState = Literal["pending", "completed", "cancelled"]


def transfer_state(row: PackageTransfer) -> TransferState:
    """`pending`, `completed` or `cancelled`."""
    if row.completed_at is not None:
        return "completed"
    return "cancelled" if row.cancelled_at is not None else "pending"


class TransferService:
    """Request, accept and cancel package transfers."""

    def __init__(self, accounts: AccountsService, packages: PackagesService) -> None:
        self.accounts = accounts
        self.packages = packages
        self.session = accounts.session
        self.clock = accounts.clock

    def request_transfer(
        self, actor: User, namespace: str, name: str, to_namespace: str
    ) -> PackageTransfer:
        """An admin of the package's namespace asks to move it to `to_namespace`."""
        package = self.packages.get_package(namespace, name)
        require_namespace_admin(self.accounts, actor, package.namespace)
        target = self.accounts.get_namespace(to_namespace)
        if target.id == package.namespace_id:
            raise Conflict(
                "transfer-same-namespace",
                f"`{package.namespace.name}/{package.name}` is already in `{target.name}`",
                "to_namespace",
            )
        pending = self._pending(package)
        if pending is not None:
            raise Conflict(
                "transfer-pending",
                f"a transfer of `{package.namespace.name}/{package.name}` is pending "
                f"(id {pending.id}): cancel it first",
                "to_namespace",
            )
        self._refuse_taken(package, target)
        row = PackageTransfer(
            package_id=package.id,
            to_namespace_id=target.id,
            requested_by_id=actor.id,
            created_at=self.clock.now(),
            source_approved_by_id=actor.id,
        )
        self.session.add(row)
        self.session.flush()
        self._record(actor, package, "package.transfer-request", target, row)
        return row

    def get(self, transfer_id: int) -> tuple[PackageTransfer, Package, Namespace]:
        """A transfer, its package and its target, or `NotFound`."""
        row = self.session.get(PackageTransfer, transfer_id)
        package = self.session.get(Package, row.package_id) if row else None
        target = self.session.get(Namespace, row.to_namespace_id) if row else None
        if row is None or package is None or target is None:
            raise NotFound("transfer-not-found", f"there is no transfer with id {transfer_id}")
        return row, package, target

    def accept(self, actor: User, transfer_id: int) -> PackageTransfer:
        """An admin of the target namespace accepts: the package moves now."""
        row, package, target = self._open(transfer_id)
        require_namespace_admin(self.accounts, actor, target)
        self._refuse_taken(package, target)
        source = package.namespace
        now = self.clock.now()
        # Tokens limited to this package in its old namespace would publish a new package
        # of that name there: they end with the move.
        self.session.execute(
            update(ApiToken)
            .where(
                ApiToken.namespace_id == source.id,
                ApiToken.package_name != "",
                ApiToken.revoked_at.is_(None),
            )
            .where(ApiToken.package_name.in_(self._spellings(package)))
            .values(revoked_at=now)
        )
        package.namespace_id = target.id
        package.namespace = target
        row.target_approved_by_id = actor.id
        row.completed_at = now
        self.session.flush()
        self._record(actor, package, "package.transfer", target, row, source=source)
        if self.packages.changes is not None:  # cached fpm answers of the old URL
            self.packages.changes.bump(self.session)
        return row

    def cancel(self, actor: User, transfer_id: int) -> PackageTransfer:
        """An admin of either namespace withdraws a pending transfer."""
        row, package, target = self._open(transfer_id)
        try:
            require_namespace_admin(self.accounts, actor, package.namespace)
        except Forbidden:
            require_namespace_admin(self.accounts, actor, target)
        row.cancelled_at = self.clock.now()
        self.session.flush()
        self._record(actor, package, "package.transfer-cancel", target, row)
        return row

    def involving(self, namespace: Namespace) -> list[PackageTransfer]:
        """Pending transfers out of or into `namespace`, oldest first."""
        return list(
            self.session.scalars(
                select(PackageTransfer)
                .join(Package, Package.id == PackageTransfer.package_id)
                .where(
                    (Package.namespace_id == namespace.id)
                    | (PackageTransfer.to_namespace_id == namespace.id),
                    PackageTransfer.completed_at.is_(None),
                    PackageTransfer.cancelled_at.is_(None),
                )
                .order_by(PackageTransfer.id)
            )
        )

    def pending_for(self, package: Package) -> PackageTransfer | None:
        """The package's pending transfer, if any."""
        return self._pending(package)

    def _open(self, transfer_id: int) -> tuple[PackageTransfer, Package, Namespace]:
        row, package, target = self.get(transfer_id)
        if transfer_state(row) != "pending":
            raise Conflict(
                "transfer-closed", f"transfer {transfer_id} is already {transfer_state(row)}"
            )
        return row, package, target

    def _pending(self, package: Package) -> PackageTransfer | None:
        return self.session.scalar(
            select(PackageTransfer).where(
                PackageTransfer.package_id == package.id,
                PackageTransfer.completed_at.is_(None),
                PackageTransfer.cancelled_at.is_(None),
            )
        )

    def _refuse_taken(self, package: Package, target: Namespace) -> None:
        taken = self.session.scalar(
            select(Package.id).where(
                Package.namespace_id == target.id, Package.canonical == package.canonical
            )
        )
        if taken is not None:
            raise Conflict(
                "package-exists",
                f"`{target.name}` already has a package `{package.name}`: rename or remove "
                "it there first",
                "to_namespace",
            )

    def _spellings(self, package: Package) -> list[str]:
        names = self.session.scalars(
            select(ApiToken.package_name).where(
                ApiToken.namespace_id == package.namespace_id, ApiToken.package_name != ""
            )
        )
        return sorted({n for n in names if canonical_name(n) == package.canonical})

    def _record(
        self,
        actor: User,
        package: Package,
        action: str,
        target: Namespace,
        row: PackageTransfer,
        *,
        source: Namespace | None = None,
    ) -> None:
        origin = source or package.namespace
        record_event(
            self.session,
            at=self.clock.now(),
            actor_id=actor.id,
            action=action,
            subject=f"package:{origin.name}/{package.name}",
            data={"transfer": row.id, "from": origin.name, "to": target.name},
        )
