"""Per-package maintainers: users who publish and yank one package without being
members of its namespace (the fortran-lang prototype's package maintainers).

Namespace admins add and remove them. A maintainer acts through tokens limited to
that package, with the `publish` and `yank` scopes (docs/accounts-tokens.md). The
accounts domain asks `MaintainerView` (its `PackagesView`) whether a token's owner is
a maintainer, so removing one ends their tokens' use at once.
"""

from __future__ import annotations

from sqlalchemy import delete, exists, select
from sqlalchemy.orm import Session

from fpmreg.core.names import canonical_name
from fpmreg.server.accounts.models import Namespace, Role, User
from fpmreg.server.accounts.service import AccountsService
from fpmreg.server.errors import Conflict, Forbidden, NotFound
from fpmreg.server.events import record_event
from fpmreg.server.packages.models import Package, PackageMaintainer
from fpmreg.server.packages.service import PackagesService


class MaintainerView:
    """The accounts domain's `PackagesView`, answered from the packages tables."""

    def maintains(self, session: Session, user_id: int, namespace_id: int, package: str) -> bool:
        return bool(
            session.scalar(
                select(
                    exists().where(
                        PackageMaintainer.user_id == user_id,
                        PackageMaintainer.package_id == Package.id,
                        Package.namespace_id == namespace_id,
                        Package.canonical == canonical_name(package),
                    )
                )
            )
        )

    def maintained(self, session: Session, user_id: int) -> list[tuple[Namespace, str]]:
        rows = session.scalars(
            select(Package)
            .join(PackageMaintainer, PackageMaintainer.package_id == Package.id)
            .where(PackageMaintainer.user_id == user_id)
            .order_by(Package.name)
        )
        return [(p.namespace, p.name) for p in rows]

    def has_packages(self, session: Session, namespace_id: int) -> bool:
        return bool(session.scalar(select(exists().where(Package.namespace_id == namespace_id))))

    def forget_user(self, session: Session, user_id: int) -> None:
        session.execute(delete(PackageMaintainer).where(PackageMaintainer.user_id == user_id))


def require_namespace_admin(accounts: AccountsService, actor: User, namespace: Namespace) -> None:
    """Refuse anyone but an admin of `namespace` (or a site admin)."""
    if not actor.is_admin and accounts.role_of(actor, namespace) is not Role.ADMIN:
        raise Forbidden(
            "not-namespace-admin",
            f"only admins of `{namespace.name}` can change its packages' maintainers and transfers",
        )


class MaintainerService:
    """Add, remove and list one package's maintainers."""

    def __init__(self, accounts: AccountsService, packages: PackagesService) -> None:
        self.accounts = accounts
        self.packages = packages
        self.session = accounts.session
        self.clock = accounts.clock

    def maintainers(self, package: Package) -> list[PackageMaintainer]:
        """The package's maintainers, by username."""
        rows = self.session.scalars(
            select(PackageMaintainer).where(PackageMaintainer.package_id == package.id)
        ).all()
        return sorted(rows, key=lambda m: m.user.username.lower())

    def add_maintainer(
        self, actor: User, namespace: str, name: str, username: str
    ) -> PackageMaintainer:
        """Make `username` a maintainer of the package (idempotent); admins only."""
        package = self.packages.get_package(namespace, name)
        require_namespace_admin(self.accounts, actor, package.namespace)
        user = self.accounts.user_by_name(username)
        if user is None or user.deleted_at is not None:
            raise NotFound("user-not-found", f"there is no user `{username}`", "username")
        if self.accounts.role_of(user, package.namespace) is not None:
            raise Conflict(
                "already-member",
                f"`{user.username}` is a member of `{package.namespace.name}` and can already "
                "publish all its packages",
                "username",
            )
        row = self.session.get(PackageMaintainer, (package.id, user.id))
        if row is not None:
            return row
        row = PackageMaintainer(
            package_id=package.id,
            user_id=user.id,
            created_at=self.clock.now(),
            added_by_id=actor.id,
        )
        self.session.add(row)
        self._record(actor, package, "maintainer.add", user)
        self.session.flush()
        return row

    def remove_maintainer(self, actor: User, namespace: str, name: str, username: str) -> None:
        """Remove a maintainer; their tokens for the package stop working at once."""
        package = self.packages.get_package(namespace, name)
        require_namespace_admin(self.accounts, actor, package.namespace)
        user = self.accounts.user_by_name(username)
        row = self.session.get(PackageMaintainer, (package.id, user.id)) if user else None
        if user is None or row is None:
            raise NotFound(
                "maintainer-not-found",
                f"`{username}` is not a maintainer of `{package.namespace.name}/{package.name}`",
                "username",
            )
        self.session.delete(row)
        self._record(actor, package, "maintainer.remove", user)
        self.session.flush()

    def _record(self, actor: User, package: Package, action: str, user: User) -> None:
        record_event(
            self.session,
            at=self.clock.now(),
            actor_id=actor.id,
            action=action,
            subject=f"package:{package.namespace.name}/{package.name}",
            data={"user": user.username},
        )
