"""The `/api/v1` answers of notifications, the audit log and the transparency report.

Who is asking: a bearer token (any live token of its owner: reading one's own
notifications needs no scope) or the browser's session cookie. A cookie-authenticated
`POST` must carry the page's CSRF token in `X-CSRF-Token`, since the CSRF middleware
exempts `/api/` (`fpmreg/server/csrf.py`): a cross-site page cannot read that token.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query

from fpmreg.core.wire.notifications import (
    AuditEvent,
    AuditEventList,
    MarkedRead,
    MarkRead,
    NotificationItem,
    NotificationList,
    Transparency,
)
from fpmreg.server.accounts.deps import ApiUser
from fpmreg.server.http import SessionDep, StateDep
from fpmreg.server.moderation.audit import AuditService, EventFilter, EventPage
from fpmreg.server.moderation.cursor import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE
from fpmreg.server.moderation.deps import NotificationsDep
from fpmreg.server.moderation.models import Notification
from fpmreg.server.moderation.transparency import transparency_report
from fpmreg.server.openapi import api_errors
from fpmreg.server.packages.deps import PackagesDep

router = APIRouter(prefix="/api/v1", tags=["moderation"])

Cursor = Annotated[str, Query(description="`next_cursor` of the previous page", max_length=32)]
Limit = Annotated[
    int,
    Query(
        description=f"1 to {MAX_PAGE_SIZE}",
        json_schema_extra={"minimum": 1, "maximum": MAX_PAGE_SIZE},
    ),
]


def notification_item(row: Notification) -> NotificationItem:
    """A notification on the wire."""
    return NotificationItem(
        id=row.id,
        kind=row.kind,
        subject=row.subject,
        message=row.message,
        url=row.url,
        created_at=row.created_at,
        read=row.read_at is not None,
    )


@router.get(
    "/notifications",
    summary="Your notifications, newest first",
    response_model=NotificationList,
    responses=api_errors(400, 401, 422),
)
def list_notifications(
    user: ApiUser, notices: NotificationsDep, cursor: Cursor = "", limit: Limit = DEFAULT_PAGE_SIZE
) -> NotificationList:
    """A page of the caller's notifications and their unread count."""
    page = notices.list_for(user, cursor=cursor, limit=limit)
    return NotificationList(
        notifications=[notification_item(n) for n in page.items],
        unread=page.unread,
        next_cursor=page.next_cursor,
    )


@router.post(
    "/notifications/read",
    summary="Mark notifications read",
    response_model=MarkedRead,
    responses=api_errors(401, 403, 404, 422),
)
def mark_read(body: MarkRead, user: ApiUser, notices: NotificationsDep) -> MarkedRead:
    """Mark the listed notifications (or, with `all`, every one) read."""
    marked = 0
    if body.all:
        marked = notices.mark_all_read(user)
    else:
        for notification_id in dict.fromkeys(body.ids):
            marked += notices.mark_read(user, notification_id)
    return MarkedRead(marked=marked, unread=notices.unread_count(user))


def _events(page: EventPage) -> AuditEventList:
    return AuditEventList(
        events=[
            AuditEvent(
                id=row.event.id,
                occurred_at=row.event.occurred_at,
                actor=row.actor,
                action=row.event.action,
                subject=row.event.subject,
                reason=row.event.reason,
                category=row.event.category,
            )
            for row in page.rows
        ],
        next_cursor=page.next_cursor,
    )


@router.get(
    "/packages/{namespace}/{name}/events",
    summary="A package's audit log",
    response_model=AuditEventList,
    responses=api_errors(400, 401, 403, 404, 422),
)
def package_events(
    namespace: str,
    name: str,
    user: ApiUser,
    session: SessionDep,
    state: StateDep,
    packages: PackagesDep,
    cursor: Cursor = "",
    limit: Limit = DEFAULT_PAGE_SIZE,
) -> AuditEventList:
    """Events of the package and its versions; its namespace's members and staff."""
    package = packages.get_package(namespace, name)
    audit = AuditService(session, state.clock)
    return _events(audit.package_events(user, package, cursor=cursor, limit=limit))


@router.get(
    "/moderation/events",
    summary="The whole audit log",
    response_model=AuditEventList,
    responses=api_errors(400, 401, 403, 422),
)
def all_events(
    user: ApiUser,
    session: SessionDep,
    state: StateDep,
    action: Annotated[str, Query(description="an action prefix: `package.`")] = "",
    subject: Annotated[str, Query(description="a subject prefix: `package:ns/name`")] = "",
    actor: Annotated[str, Query(description="a username")] = "",
    since: Annotated[date | None, Query(description="from this UTC day")] = None,
    until: Annotated[date | None, Query(description="to this UTC day, included")] = None,
    cursor: Cursor = "",
    limit: Limit = DEFAULT_PAGE_SIZE,
) -> AuditEventList:
    """Every event, filtered; moderators and site admins."""
    filters = EventFilter(action, subject, actor, since, until)
    audit = AuditService(session, state.clock)
    return _events(audit.all_events(user, filters, cursor=cursor, limit=limit))


@router.get(
    "/transparency",
    summary="Moderation actions by category and month",
    response_model=Transparency,
)
def transparency(session: SessionDep, state: StateDep) -> Transparency:
    """Counts only: never reasons, subjects, reporters or moderators."""
    report = transparency_report(session, state.clock)
    return Transparency.model_validate(
        {
            "generated_at": report.generated_at,
            "total": report.total,
            "by_month": [{"month": m, "category": c, "count": n} for m, c, n in report.by_month],
            "by_action": [{"action": a, "count": n} for a, n in report.by_action],
        }
    )
