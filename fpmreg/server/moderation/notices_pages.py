"""Pages: your notifications, a package's audit log, the whole log, transparency.

A package's log is at `/project/{ns}/{name}/events`, beside its page: everything under
`/packages/` is fpm's API (`GET /packages/{ns}/{name}/{version}` would take `events`).
"""

from __future__ import annotations

from datetime import date
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from fpmreg.server.accounts.deps import CurrentUser
from fpmreg.server.accounts.models import User
from fpmreg.server.errors import InvalidInput, Unauthenticated
from fpmreg.server.http import FormFields, RowIdPath, SessionDep, StateDep, render
from fpmreg.server.moderation.audit import AuditService, EventFilter
from fpmreg.server.moderation.deps import NotificationsDep
from fpmreg.server.moderation.transparency import transparency_report
from fpmreg.server.packages.deps import PackagesDep

router = APIRouter(include_in_schema=False)


def _signed_in(user: User | None) -> User:
    if user is None:
        raise Unauthenticated("sign-in-required", "sign in to see this page")
    return user


def _see_other(url: str) -> Response:
    return RedirectResponse(url, status_code=303)


def _local(url: str, default: str) -> str:
    return url if url.startswith("/") and not url.startswith("//") else default


@router.get("/notifications")
def notifications_page(
    request: Request, user: CurrentUser, notices: NotificationsDep, cursor: str = ""
) -> Response:
    me = _signed_in(user)
    page = notices.list_for(me, cursor=cursor)
    return render(request, "notifications.html", {"user": me, "page": page})


@router.post("/notifications/{notification_id}/read")
def mark_one_read(
    notification_id: RowIdPath,
    request: Request,
    fields: FormFields,
    user: CurrentUser,
    notices: NotificationsDep,
) -> Response:
    me = _signed_in(user)
    notices.mark_read(me, notification_id)
    return _see_other(_local(str(fields.get("next", "")), "/notifications"))


@router.post("/notifications/read-all")
def mark_all_read(request: Request, user: CurrentUser, notices: NotificationsDep) -> Response:
    me = _signed_in(user)
    notices.mark_all_read(me)
    return _see_other("/notifications")


@router.get("/project/{namespace}/{name}/events")
def package_events_page(
    namespace: str,
    name: str,
    request: Request,
    user: CurrentUser,
    session: SessionDep,
    state: StateDep,
    packages: PackagesDep,
    cursor: str = "",
) -> Response:
    package = packages.get_package(namespace, name)
    page = AuditService(session, state.clock).package_events(user, package, cursor=cursor)
    return render(
        request,
        "events.html",
        {
            "user": user,
            "package": package,
            "page": page,
            "filters": None,
            "next_url": f"?{urlencode({'cursor': page.next_cursor})}",
            "errors": [],
        },
    )


def _day(text: str, field: str) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidInput("date-invalid", f"`{field}` is a day: `YYYY-MM-DD`", field) from None


@router.get("/moderation/events")
def all_events_page(
    request: Request,
    user: CurrentUser,
    session: SessionDep,
    state: StateDep,
    action: str = "",
    subject: str = "",
    actor: str = "",
    since: str = "",
    until: str = "",
    cursor: str = "",
) -> Response:
    _signed_in(user)
    shown = {"action": action, "subject": subject, "actor": actor, "since": since, "until": until}
    audit = AuditService(session, state.clock)
    try:
        filters = EventFilter(
            action.strip(),
            subject.strip(),
            actor.strip(),
            _day(since.strip(), "since"),
            _day(until.strip(), "until"),
        )
        page = audit.all_events(user, filters, cursor=cursor)
    except InvalidInput as exc:
        audit.all_events(user, EventFilter(), limit=1)  # the permission check comes first
        context = {"user": user, "package": None, "page": None, "filters": shown}
        errors = [p.message for p in exc.problems]
        return render(request, "events.html", {**context, "errors": errors}, exc.status)
    kept = {k: v for k, v in shown.items() if v}
    return render(
        request,
        "events.html",
        {
            "user": user,
            "package": None,
            "page": page,
            "filters": shown,
            "next_url": f"?{urlencode({**kept, 'cursor': page.next_cursor})}",
            "errors": [],
        },
    )


@router.get("/transparency")
def transparency_page(
    request: Request, user: CurrentUser, session: SessionDep, state: StateDep
) -> Response:
    report = transparency_report(session, state.clock)
    return render(request, "transparency.html", {"user": user, "report": report})
