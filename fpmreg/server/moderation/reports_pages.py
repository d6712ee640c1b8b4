"""Pages for reports: the report form's target, the moderator queue and one report.

Forms carry the CSRF field (`fpmreg.server.csrf` checks every one); a successful post
redirects back (303) with a notice in the query string.
"""

from __future__ import annotations

from urllib.parse import quote, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from fpmreg.core.wire.reports import (
    CATEGORIES,
    MAX_DECISION_REASON_LENGTH,
    MAX_REPORT_MESSAGE_LENGTH,
)
from fpmreg.server.accounts.deps import CurrentUser
from fpmreg.server.accounts.models import User
from fpmreg.server.errors import InvalidInput, Unauthenticated
from fpmreg.server.http import FormFields, RowIdPath, render
from fpmreg.server.moderation.deps import QueueDep, ReportsDep
from fpmreg.server.moderation.queue import ALL, PENDING, QueueFilter

router = APIRouter(include_in_schema=False)


def _signed_in(user: User | None, what: str) -> User:
    if user is None:
        raise Unauthenticated("sign-in-required", f"sign in to {what}")
    return user


def _see_other(url: str) -> Response:
    return RedirectResponse(url, status_code=303)


@router.post("/project/{namespace}/{name}/report")
def report_form(
    request: Request,
    fields: FormFields,
    namespace: str,
    name: str,
    user: CurrentUser,
    reports: ReportsDep,
) -> Response:
    """The report form of the package and version pages."""
    reporter = _signed_in(user, "report a package")
    report = reports.file_report(
        reporter,
        namespace,
        name,
        category=fields.get("category", ""),
        message=fields.get("message", ""),
        version=fields.get("version", ""),
    )
    page = f"/project/{quote(report.subject.replace('@', '/'))}"
    return _see_other(f"{page}?report=filed#report")


def _int_or_none(text: str, field: str) -> int | None:
    if not text.strip():
        return None
    if not text.strip().isdigit():
        raise InvalidInput("age-invalid", f"`{field}` is a number of days", field)
    return int(text)


@router.get("/moderation/queue")
def queue_page(request: Request, user: CurrentUser, queue: QueueDep) -> Response:
    """The queue with its filters (query parameters, as the API takes them)."""
    moderator = _signed_in(user, "see the moderation queue")
    params = request.query_params
    page = params.get("page", "1")
    where = QueueFilter(
        category=params.get("category", ""),
        status=params.get("status", PENDING) or PENDING,
        older_than_days=_int_or_none(params.get("older_than", ""), "older_than"),
        newer_than_days=_int_or_none(params.get("newer_than", ""), "newer_than"),
        subject=params.get("subject", "")[:200],
        trusted_first=params.get("trusted_first", "") in ("1", "on", "true"),
        page=int(page) if page.isdigit() else 0,
    )
    found = queue.list_reports(moderator, where)
    kept = {k: v for k, v in params.items() if k != "page" and v}
    return render(
        request,
        "moderation_queue.html",
        {
            "user": moderator,
            "found": found,
            "where": where,
            "names": queue.usernames(found.reports),
            "categories": CATEGORIES,
            "statuses": ("open", "claimed", "decided", PENDING, ALL),
            "query": urlencode(kept),
        },
    )


@router.get("/moderation/reports/{report_id}")
def report_page(
    request: Request, report_id: RowIdPath, user: CurrentUser, queue: QueueDep
) -> Response:
    """One report: who filed and claimed it, the others on its subject, the forms."""
    moderator = _signed_in(user, "see reports")
    report = queue.get_report(moderator, report_id)
    others = queue.open_on_subject(report)
    return render(
        request,
        "moderation_report.html",
        {
            "user": moderator,
            "report": report,
            "others": others,
            "names": queue.usernames([report, *others]),
            "decisions": [d.value for d in queue.decisions_for(report)],
            "advisory": queue.advisory_of(report),
            "max_reason": MAX_DECISION_REASON_LENGTH,
            "max_message": MAX_REPORT_MESSAGE_LENGTH,
            "done": request.query_params.get("done", ""),
        },
    )


@router.post("/moderation/reports/{report_id}/claim")
def claim_form(
    request: Request, fields: FormFields, report_id: RowIdPath, user: CurrentUser, queue: QueueDep
) -> Response:
    """Claim (or, with `force`, take over) a report."""
    moderator = _signed_in(user, "claim reports")
    queue.claim(moderator, report_id, force=fields.get("force", "") in ("1", "on", "true"))
    return _see_other(f"/moderation/reports/{report_id}?done=claimed")


@router.post("/moderation/reports/{report_id}/decision")
def decision_form(
    request: Request, fields: FormFields, report_id: RowIdPath, user: CurrentUser, queue: QueueDep
) -> Response:
    """Decide a report (and the other open ones on its subject)."""
    moderator = _signed_in(user, "decide reports")
    _, others = queue.decide(
        moderator,
        report_id,
        decision=fields.get("decision", ""),
        reason=fields.get("reason", ""),
        force=fields.get("force", "") in ("1", "on", "true"),
    )
    return _see_other(f"/moderation/reports/{report_id}?done=decided&also={len(others)}")
