"""Notifications, the audit log and the public transparency report, on the wire."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import Field

from fpmreg.core.wire import MAX_ROW_ID, WireModel, omit_empty


class NotificationItem(WireModel):
    """One message to the signed-in user."""

    id: int
    kind: str = Field(description="what happened, e.g. `report.decided`")
    subject: str
    message: str
    url: str = Field(description="a path on this registry the message is about, or empty")
    created_at: datetime
    read: bool


class NotificationList(WireModel):
    """A page of the signed-in user's notifications, newest first."""

    notifications: list[NotificationItem]
    unread: int = Field(ge=0, description="unread notifications in all pages")
    next_cursor: str = Field(
        "", exclude_if=omit_empty, description="pass back as `cursor` for the next page"
    )


class MarkRead(WireModel):
    """Which notifications to mark read: the listed `ids`, or every one with `all`."""

    ids: list[Annotated[int, Field(ge=1, le=MAX_ROW_ID)]] = Field(
        default_factory=list, max_length=200
    )
    all: bool = Field(default=False, strict=True)  # `0` or `"yes"` are mistakes, not true


class MarkedRead(WireModel):
    """How many notifications became read, and how many are still unread."""

    marked: int = Field(ge=0)
    unread: int = Field(ge=0)


class AuditEvent(WireModel):
    """One entry of the audit log: who did what to what, when and why."""

    id: int
    occurred_at: datetime
    actor: str = Field(description="the username, or empty for the registry itself")
    action: str = Field(description="e.g. `version.yank`, `package.quarantine`, `role.grant`")
    subject: str = Field(description="e.g. `package:ns/name@1.0.0`, `user:alice`")
    reason: str
    category: str = Field(description="the moderation category, or empty")


class AuditEventList(WireModel):
    """A page of audit events, newest first."""

    events: list[AuditEvent]
    next_cursor: str = Field(
        "", exclude_if=omit_empty, description="pass back as `cursor` for the next page"
    )


class CategoryMonth(WireModel):
    """How many moderation actions of one category were taken in one UTC month."""

    month: str = Field(description="`YYYY-MM`, UTC", examples=["2026-12"])
    category: str
    count: int = Field(ge=0)


class ActionTotal(WireModel):
    """How many moderation actions of one kind were taken in all."""

    action: str = Field(description="the kind: yank, quarantine, delete, dismiss, ...")
    count: int = Field(ge=0)


class Transparency(WireModel):
    """The public transparency report: counts only, never reasons or people."""

    generated_at: datetime
    total: int = Field(ge=0, description="moderation actions in all")
    by_month: list[CategoryMonth] = Field(description="newest month first")
    by_action: list[ActionTotal]
