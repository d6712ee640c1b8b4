"""The moderation domain's dependency aliases: one service per request, on its session.

Each helper owns the factory of its own service; keep them in this one file.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request

from fpmreg.server.http import SessionDep, StateDep
from fpmreg.server.moderation.deletion import DeletionService, DownloadTotals, no_downloads
from fpmreg.server.moderation.deprecation import DeprecationService
from fpmreg.server.moderation.notifications import NotificationsService
from fpmreg.server.moderation.quarantine import QuarantineService
from fpmreg.server.moderation.queue import AdvisoryDrafter, QueueService
from fpmreg.server.moderation.remote import RemoteDecisionListener
from fpmreg.server.moderation.reports import ReportForwarder, ReportsService
from fpmreg.server.moderation.yanking import YankService
from fpmreg.server.packages.deps import PackagesDep


@dataclass
class ModerationWiring:
    """What `create_app` plugs into the moderation domain (on `app.state.moderation`):
    the all-time download counts the owners' delete rule reads, from the metrics
    domain, and the queue's advisory drafter, from the advisories domain (moderation
    imports neither; without a drafter the `advisory` decision is not offered)."""

    download_totals: DownloadTotals = no_downloads
    advisory_drafter: AdvisoryDrafter | None = None
    # Answers the flaggers of remote reports (federation's `SendFlagDecisions`).
    remote_decisions: RemoteDecisionListener | None = None
    # Sends reports about mirrored packages to their origin (federation's `ForwardToOrigin`).
    report_forwarder: ReportForwarder | None = None


def moderation_wiring(app: Any) -> ModerationWiring:
    """The moderation wiring of an app (the defaults if `create_app` set none)."""
    wiring: ModerationWiring | None = getattr(app.state, "moderation", None)
    return wiring if wiring is not None else ModerationWiring()


def quarantine_service(
    state: StateDep, session: SessionDep, packages: PackagesDep
) -> QuarantineService:
    """Quarantine on this request's session."""
    return QuarantineService(session, state.clock, packages, state.changes)


def deletion_service(
    request: Request, state: StateDep, session: SessionDep, packages: PackagesDep
) -> DeletionService:
    """Hard delete on this request's session."""
    return DeletionService(
        session,
        state.clock,
        packages,
        state.store,
        state.changes,
        downloads=moderation_wiring(request.app).download_totals,
    )


def yank_service(state: StateDep, session: SessionDep, packages: PackagesDep) -> YankService:
    """Yank and unyank on this request's session."""
    return YankService(session, state.clock, packages, state.changes)


def deprecation_service(
    state: StateDep, session: SessionDep, packages: PackagesDep
) -> DeprecationService:
    """Deprecation on this request's session."""
    return DeprecationService(session, state.clock, packages, state.changes)


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
YankDep = Annotated[YankService, Depends(yank_service)]
DeprecationDep = Annotated[DeprecationService, Depends(deprecation_service)]
NotificationsDep = Annotated[NotificationsService, Depends(notifications_service)]


# Reports and the queue (the `reports` helper).


def reports_service(
    request: Request,
    state: StateDep,
    session: SessionDep,
    packages: PackagesDep,
    quarantine: QuarantineDep,
    notifications: NotificationsDep,
) -> ReportsService:
    """Filing reports (and the automatic quarantine) on this request's session."""
    forwarder = moderation_wiring(request.app).report_forwarder
    return ReportsService(session, state.clock, packages, quarantine, notifications, forwarder)


def queue_service(
    request: Request,
    state: StateDep,
    session: SessionDep,
    packages: PackagesDep,
    quarantine: QuarantineDep,
    deletion: DeletionDep,
    yanking: YankDep,
    notifications: NotificationsDep,
) -> QueueService:
    """The moderators' queue on this request's session."""
    return QueueService(
        session,
        state.clock,
        quarantine=quarantine,
        deletion=deletion,
        yanking=yanking,
        notifications=notifications,
        advisories=moderation_wiring(request.app).advisory_drafter,
        remote=moderation_wiring(request.app).remote_decisions,
    )


ReportsDep = Annotated[ReportsService, Depends(reports_service)]
QueueDep = Annotated[QueueService, Depends(queue_service)]
