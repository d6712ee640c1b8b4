"""Reading the audit log: a package's events for its owners, every event for moderators.

The log itself is `fpmreg.server.events` (append-only; every state change records one);
this module only reads it, with the permission matrix's `view-package-events` and
`view-all-events`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import ColumnElement, Select, or_, select
from sqlalchemy.orm import Session

from fpmreg.server.accounts.models import User
from fpmreg.server.clock import Clock
from fpmreg.server.errors import InvalidInput
from fpmreg.server.events import Event
from fpmreg.server.moderation.cursor import (
    DEFAULT_PAGE_SIZE,
    check_limit,
    decode_cursor,
    encode_cursor,
)
from fpmreg.server.moderation.permissions import Action, require
from fpmreg.server.moderation.roles import principals_for
from fpmreg.server.packages.models import Package

# The widths of `events.action` and `events.subject`: a longer filter matches nothing.
MAX_ACTION_FILTER = 64
MAX_SUBJECT_FILTER = 256
MAX_USERNAME_FILTER = 64


@dataclass(frozen=True)
class EventFilter:
    """What a moderator narrows the whole log to; every field optional."""

    action: str = ""  # a prefix: `package.` finds every package action
    subject: str = ""  # a prefix: `package:ns/name` finds its versions' events too
    actor: str = ""  # a username
    since: date | None = None  # UTC days, both ends included
    until: date | None = None

    def check(self) -> None:
        """Refuse filters that cannot be meant (400, each naming its field)."""
        for field, value, limit in (
            ("action", self.action, MAX_ACTION_FILTER),
            ("subject", self.subject, MAX_SUBJECT_FILTER),
            ("actor", self.actor, MAX_USERNAME_FILTER),
        ):
            if len(value) > limit:
                raise InvalidInput(
                    "filter-too-long", f"`{field}` is at most {limit} characters", field
                )
        if self.since and self.until and self.since > self.until:
            raise InvalidInput(
                "date-range-invalid",
                f"`since` ({self.since}) is after `until` ({self.until}): swap them",
                "since",
            )


@dataclass(frozen=True)
class EventRow:
    """An event and its actor's username ("" for the registry itself or a gone user)."""

    event: Event
    actor: str


@dataclass(frozen=True)
class EventPage:
    """A page of events, newest first; `next_cursor` is "" on the last page."""

    rows: list[EventRow]
    next_cursor: str


def package_subject(package: Package) -> str:
    """The audit subject of a package (its versions' subjects add `@version`)."""
    return f"package:{package.namespace.name}/{package.name}"


def _of_package(package: Package) -> ColumnElement[bool]:
    subject = package_subject(package)
    return or_(Event.subject == subject, Event.subject.startswith(f"{subject}@", autoescape=True))


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


def _with_actor() -> Select[Event, str]:
    return select(Event, User.username).outerjoin(User, User.id == Event.actor_id)


class AuditService:
    """The audit log as owners and moderators read it."""

    def __init__(self, session: Session, clock: Clock) -> None:
        self.session = session
        self.clock = clock

    def package_events(
        self,
        user: User | None,
        package: Package,
        *,
        cursor: str = "",
        limit: int = DEFAULT_PAGE_SIZE,
    ) -> EventPage:
        """The events of `package` and its versions; its namespace's members and staff."""
        require(
            principals_for(self.session, user, package.namespace_id),
            Action.VIEW_PACKAGE_EVENTS,
            f"{package.namespace.name}/{package.name}",
        )
        query = _with_actor().where(_of_package(package))
        return self._page(query, cursor, limit)

    def all_events(
        self,
        user: User | None,
        filters: EventFilter,
        *,
        cursor: str = "",
        limit: int = DEFAULT_PAGE_SIZE,
    ) -> EventPage:
        """Every event matching `filters`; moderators and site admins only."""
        require(principals_for(self.session, user), Action.VIEW_ALL_EVENTS, "the audit log")
        filters.check()
        query = _with_actor()
        if filters.action:
            query = query.where(Event.action.startswith(filters.action, autoescape=True))
        if filters.subject:
            query = query.where(Event.subject.startswith(filters.subject, autoescape=True))
        if filters.actor:
            query = query.where(User.username == filters.actor)
        if filters.since:
            query = query.where(Event.occurred_at >= _start_of(filters.since))
        if filters.until:
            query = query.where(Event.occurred_at < _start_of(filters.until + timedelta(days=1)))
        return self._page(query, cursor, limit)

    def _page(self, query: Select[Event, str], cursor: str, limit: int) -> EventPage:
        before = decode_cursor(cursor)
        check_limit(limit)
        if before is not None:
            query = query.where(Event.id < before)
        rows = self.session.execute(query.order_by(Event.id.desc()).limit(limit + 1)).all()
        more = len(rows) > limit
        page = [EventRow(event, username or "") for event, username in rows[:limit]]
        return EventPage(page, encode_cursor(page[-1].event.id) if more else "")
