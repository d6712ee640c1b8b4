"""`/api/v1` for reports: filing one (`POST .../packages/{ns}/{name}/reports`) and the
moderators' queue (`/api/v1/moderation/reports`).

Both take a bearer API token of any scope (a report is the user's, not a namespace's)
or the browser's session cookie. A cookie-authenticated change must come from this
registry's own pages: JSON only (a cross-site form cannot send it without a CORS
preflight) and no foreign `Origin`.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Path, Query

from fpmreg.core.wire import MAX_ROW_ID
from fpmreg.core.wire.reports import (
    ClaimRequest,
    DecisionRequest,
    DecisionResult,
    QueuedReport,
    ReportPage,
    ReportReceipt,
    ReportRequest,
)
from fpmreg.server.accounts.deps import ApiUser
from fpmreg.server.moderation.deps import QueueDep, ReportsDep
from fpmreg.server.moderation.models import Report
from fpmreg.server.moderation.queue import PENDING, QueueFilter, QueueService
from fpmreg.server.openapi import api_errors
from fpmreg.server.packages.schemas import NamePath, NamespacePath

# Row ids, within what JSON numbers hold exactly: a larger one is a 422, never a
# database error.
ReportId = Annotated[int, Path(ge=1, le=MAX_ROW_ID)]

router = APIRouter(prefix="/api/v1", tags=["reports"])


@router.post(
    "/packages/{namespace}/{name}/reports",
    summary="Report a package or one version",
    status_code=201,
    response_model=ReportReceipt,
    responses=api_errors(400, 401, 403, 404, 409, 422, 429),
)
def file_report(
    namespace: NamespacePath,
    name: NamePath,
    request_body: Annotated[ReportRequest, Body()],
    user: ApiUser,
    reports: ReportsDep,
) -> ReportReceipt:
    """Tell the moderators what is wrong; you are notified of their decision. One open
    report per package (or version) per reporter; a few reports an hour."""
    report = reports.file_report(
        user,
        namespace,
        name,
        category=request_body.category,
        message=request_body.message,
        version=request_body.version,
    )
    return ReportReceipt(
        id=report.id,
        subject=report.subject,
        category=report.category,
        status=report.status,
        created_at=report.created_at,
    )


def queued(queue: QueueService, report: Report, names: dict[int, str]) -> QueuedReport:
    """A report as the wire shows it to moderators."""
    ns_name = report.subject.partition("@")[0]
    namespace, _, name = ns_name.partition("/")
    return QueuedReport(
        id=report.id,
        subject=report.subject,
        namespace=namespace,
        name=name,
        version=report.version,
        category=report.category,
        message=report.message,
        trusted=report.trusted,
        status=report.status,
        reporter=names.get(report.reporter_id or 0, ""),
        remote_actor=report.remote_actor,
        remote_host=report.remote_host,
        created_at=report.created_at,
        claimed_by=names.get(report.claimed_by_id or 0, ""),
        claimed_at=report.claimed_at,
        decided_by=names.get(report.decided_by_id or 0, ""),
        decided_at=report.decided_at,
        decision=report.decision,
        decision_reason=report.decision_reason,
        open_on_subject=len(queue.open_on_subject(report)),
    )


def _one(queue: QueueService, report: Report) -> QueuedReport:
    return queued(queue, report, queue.usernames([report]))


_QUEUE_ERRORS = api_errors(400, 401, 403, 404, 422)


@router.get(
    "/moderation/reports",
    summary="The moderators' queue",
    response_model=ReportPage,
    responses=api_errors(400, 401, 403, 422),
)
def list_reports(
    user: ApiUser,
    queue: QueueDep,
    category: Annotated[str, Query(description="one category", max_length=32)] = "",
    status: Annotated[
        str, Query(description="open, claimed, decided, pending (open or claimed), all")
    ] = PENDING,
    older_than: Annotated[int | None, Query(ge=0, le=36500, description="days")] = None,
    newer_than: Annotated[int | None, Query(ge=0, le=36500, description="days")] = None,
    subject: Annotated[str, Query(description="`ns/name` prefix", max_length=200)] = "",
    trusted_first: bool = False,
    page: Annotated[int, Query(ge=1, le=1000)] = 1,
) -> ReportPage:
    """Reports oldest first (trusted reporters' first with `trusted_first`)."""
    where = QueueFilter(
        category=category,
        status=status,
        older_than_days=older_than,
        newer_than_days=newer_than,
        subject=subject,
        trusted_first=trusted_first,
        page=page,
    )
    found = queue.list_reports(user, where)
    names = queue.usernames(found.reports)
    return ReportPage(
        reports=[queued(queue, r, names) for r in found.reports],
        total=found.total,
        page=found.page,
        pages=found.pages,
    )


@router.get(
    "/moderation/reports/{report_id}",
    summary="One report",
    response_model=QueuedReport,
    responses=_QUEUE_ERRORS,
)
def get_report(report_id: ReportId, user: ApiUser, queue: QueueDep) -> QueuedReport:
    """A report with who filed, claimed and decided it."""
    return _one(queue, queue.get_report(user, report_id))


@router.post(
    "/moderation/reports/{report_id}/claim",
    summary="Claim a report",
    response_model=QueuedReport,
    responses=api_errors(400, 401, 403, 404, 409, 422),
)
def claim_report(
    report_id: ReportId,
    user: ApiUser,
    queue: QueueDep,
    request_body: Annotated[ClaimRequest | None, Body()] = None,
) -> QueuedReport:
    """Show the other moderators you work on it (`force` takes it from another)."""
    force = request_body.force if request_body else False
    return _one(queue, queue.claim(user, report_id, force=force))


@router.post(
    "/moderation/reports/{report_id}/decision",
    summary="Decide a report",
    response_model=DecisionResult,
    responses=api_errors(400, 401, 403, 404, 409, 422),
)
def decide_report(
    report_id: ReportId,
    request_body: Annotated[DecisionRequest, Body()],
    user: ApiUser,
    queue: QueueDep,
) -> DecisionResult:
    """Dismiss, yank (a version), quarantine, delete, or open an advisory draft
    (`advisory`: its id is in the answer); the other open reports on the same subject
    are decided alike, and reporters and owners are told."""
    report, others = queue.decide(
        user,
        report_id,
        decision=request_body.decision,
        reason=request_body.reason,
        force=request_body.force,
    )
    return DecisionResult(
        report=_one(queue, report),
        also_decided=[r.id for r in others],
        advisory=queue.advisory_of(report),
    )
