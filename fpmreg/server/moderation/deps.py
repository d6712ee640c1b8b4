"""The moderation domain's dependency aliases: one service per request, on its session.

Each helper owns the factory of its own service; keep them in this one file.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from fpmreg.server.http import SessionDep, StateDep
from fpmreg.server.moderation.deletion import DeletionService
from fpmreg.server.moderation.notifications import NotificationsService
from fpmreg.server.moderation.quarantine import QuarantineService
from fpmreg.server.packages.deps import PackagesDep


def quarantine_service(
    state: StateDep, session: SessionDep, packages: PackagesDep
) -> QuarantineService:
    """Quarantine on this request's session."""
    return QuarantineService(session, state.clock, packages, state.changes)


def deletion_service(
    state: StateDep, session: SessionDep, packages: PackagesDep
) -> DeletionService:
    """Hard delete on this request's session."""
    return DeletionService(session, state.clock, packages, state.store, state.changes)


def notifications_service(state: StateDep, session: SessionDep) -> NotificationsService:
    """Notifications on this request's session; mail only when SMTP is configured."""
    return NotificationsService(
        session,
        state.clock,
        mail=bool(state.settings.smtp_url.get_secret_value()),
        base_url=state.settings.base_url,
    )


QuarantineDep = Annotated[QuarantineService, Depends(quarantine_service)]
DeletionDep = Annotated[DeletionService, Depends(deletion_service)]
NotificationsDep = Annotated[NotificationsService, Depends(notifications_service)]
