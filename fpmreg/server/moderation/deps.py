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
from fpmreg.server.moderation.queue import QueueService
from fpmreg.server.moderation.reports import ReportsService
from fpmreg.server.packages.deps import PackagesDep
from fpmreg.server.packages.yanking import YankService


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


# Reports and the queue (the `reports` helper).


def reports_service(
    state: StateDep,
    session: SessionDep,
    packages: PackagesDep,
    quarantine: QuarantineDep,
    notifications: NotificationsDep,
) -> ReportsService:
    """Filing reports (and the automatic quarantine) on this request's session."""
    return ReportsService(session, state.clock, packages, quarantine, notifications)


def queue_service(
    state: StateDep,
    session: SessionDep,
    packages: PackagesDep,
    quarantine: QuarantineDep,
    deletion: DeletionDep,
    notifications: NotificationsDep,
) -> QueueService:
    """The moderators' queue on this request's session."""
    return QueueService(
        session,
        state.clock,
        quarantine=quarantine,
        deletion=deletion,
        yanking=YankService(session, state.clock, packages, state.changes),
        notifications=notifications,
    )


ReportsDep = Annotated[ReportsService, Depends(reports_service)]
QueueDep = Annotated[QueueService, Depends(queue_service)]
