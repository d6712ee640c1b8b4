"""Who someone is with respect to one package: the principals of the permission matrix.

Site roles (`moderator`, `trusted-reporter`, ...) are rows of `user_roles`, granted by
operators with `fpmreg-server admin grant ROLE USER`; site admins are `User.is_admin`;
maintainers and namespace admins are members of the package's namespace.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from fpmreg.server.accounts.models import Membership, Role, SiteRole, User, UserRole
from fpmreg.server.events import record_event
from fpmreg.server.moderation.permissions import Principal
from fpmreg.server.packages.models import PackageMaintainer


def site_roles(session: Session, user: User) -> set[SiteRole]:
    """The site roles `user` holds (admins are not listed here: see `User.is_admin`)."""
    rows = session.scalars(select(UserRole.role).where(UserRole.user_id == user.id))
    return {SiteRole(r) for r in rows if r in SiteRole._value2member_map_}


def principals_for(
    session: Session,
    user: User | None,
    namespace_id: int | None = None,
    package_id: int | None = None,
) -> set[Principal]:
    """Every principal `user` holds, for a package in `namespace_id` (or site-wide).

    With `package_id`, a per-package maintainer (docs/accounts.md, "Maintainers") counts
    as a maintainer of that package too."""
    if user is None:
        return {Principal.ANONYMOUS}
    found = {Principal.USER}
    if user.is_admin:
        found.add(Principal.SITE_ADMIN)
    held = site_roles(session, user)
    if SiteRole.MODERATOR in held:
        found.add(Principal.MODERATOR)
    if SiteRole.TRUSTED_REPORTER in held:
        found.add(Principal.TRUSTED_REPORTER)
    if namespace_id is not None:
        role = session.scalar(
            select(Membership.role).where(
                Membership.user_id == user.id, Membership.namespace_id == namespace_id
            )
        )
        if role == Role.ADMIN:
            found |= {Principal.NAMESPACE_ADMIN, Principal.MAINTAINER}
        elif role == Role.MAINTAINER:
            found.add(Principal.MAINTAINER)
    if package_id is not None and session.scalar(
        select(PackageMaintainer.user_id).where(
            PackageMaintainer.user_id == user.id, PackageMaintainer.package_id == package_id
        )
    ):
        found.add(Principal.MAINTAINER)
    return found


def grant_role(
    session: Session, user: User, role: SiteRole, *, at: datetime, actor_id: int | None
) -> bool:
    """Give `user` the site role; False when they held it already. Audited."""
    if role in site_roles(session, user):
        return False
    session.add(UserRole(user_id=user.id, role=role.value, granted_at=at, granted_by_id=actor_id))
    record_event(
        session,
        at=at,
        actor_id=actor_id,
        action="role.grant",
        subject=f"user:{user.username}",
        data={"role": role.value},
    )
    session.flush()
    return True


def revoke_role(
    session: Session, user: User, role: SiteRole, *, at: datetime, actor_id: int | None
) -> bool:
    """Take the site role from `user`; False when they did not hold it. Audited."""
    if role not in site_roles(session, user):
        return False
    session.execute(
        delete(UserRole).where(UserRole.user_id == user.id, UserRole.role == role.value)
    )
    record_event(
        session,
        at=at,
        actor_id=actor_id,
        action="role.revoke",
        subject=f"user:{user.username}",
        data={"role": role.value},
    )
    session.flush()
    return True
