"""Reports of packages and the moderators' queue (`/api/v1/.../reports`,
`/api/v1/moderation/reports`), as the server sends them and `fpmreg report` reads them."""

from __future__ import annotations

from datetime import datetime
from typing import Literal, get_args

from pydantic import Field

from fpmreg.core.wire import WireModel, omit_empty
from fpmreg.core.wire.index import NOT_BLANK

# A report says what is wrong and where to look; a page of text is plenty, and the
# queue must stay readable (and cheap to store) under a flood.
MAX_REPORT_MESSAGE_LENGTH = 5000
# A moderator's reason is shown to the reporter and the owners: a sentence or two.
MAX_DECISION_REASON_LENGTH = 2000
# One page of the moderator queue.
QUEUE_PAGE_SIZE = 50

# The categories of docs/registry-rules.md, "Reports" (the server's `ReportCategory`).
CategoryName = Literal[
    "malware", "typosquatting", "copyright", "spam", "broken", "security", "other"
]
CATEGORIES: tuple[str, ...] = get_args(CategoryName)
StatusName = Literal["open", "claimed", "decided"]
# What a moderator may decide; `advisory` opens an advisory draft for the package (a
# registry built without the advisories domain refuses it: `advisory-decision-unavailable`).
DecisionName = Literal["dismiss", "yank", "quarantine", "delete", "advisory"]
DECISIONS: tuple[str, ...] = get_args(DecisionName)


class ReportRequest(WireModel):
    """A report of a package, or of one version of it when `version` is given."""

    category: CategoryName
    # Documented, not validated here: the service refuses blank or long text with a
    # message saying what to write (`report-message-missing`, `report-message-too-long`).
    message: str = Field(
        max_length=MAX_REPORT_MESSAGE_LENGTH, json_schema_extra={"pattern": NOT_BLANK}
    )
    version: str = Field("", description="report this version only (default: the package)")


class ReportReceipt(WireModel):
    """What the reporter is told: the report is in the queue (never who else reported)."""

    id: int
    subject: str = Field(description="`namespace/name` or `namespace/name@version`")
    category: CategoryName
    status: StatusName
    created_at: datetime


class QueuedReport(WireModel):
    """A report as moderators see it."""

    id: int
    subject: str
    namespace: str
    name: str
    version: str = Field("", exclude_if=omit_empty)
    category: CategoryName
    message: str
    trusted: bool = Field(description="filed by a trusted reporter")
    status: StatusName
    reporter: str = Field("", description="username; empty once the account is gone")
    remote_actor: str = Field(
        "",
        exclude_if=omit_empty,
        description="a remote report: the ActivityPub actor that sent the Flag",
    )
    remote_host: str = Field("", exclude_if=omit_empty, description="that actor's host")
    created_at: datetime
    claimed_by: str = Field("", exclude_if=omit_empty)
    claimed_at: datetime | None = Field(None, exclude_if=omit_empty)
    decided_by: str = Field("", exclude_if=omit_empty)
    decided_at: datetime | None = Field(None, exclude_if=omit_empty)
    decision: DecisionName | Literal[""] = Field("", exclude_if=omit_empty)
    decision_reason: str = Field("", exclude_if=omit_empty)
    open_on_subject: int = Field(0, ge=0, description="other undecided reports on the same subject")


class ReportPage(WireModel):
    """One page of the queue, oldest first (trusted reporters first when asked)."""

    reports: list[QueuedReport]
    total: int = Field(ge=0, description="matches in all pages")
    page: int = Field(ge=1)
    pages: int = Field(ge=1)


class ClaimRequest(WireModel):
    """Claim a report; `force` takes it from the moderator who holds it."""

    force: bool = False


class DecisionRequest(WireModel):
    """A moderator's decision and the reason the reporter and the owners are told."""

    decision: DecisionName
    reason: str = Field(
        max_length=MAX_DECISION_REASON_LENGTH, json_schema_extra={"pattern": NOT_BLANK}
    )
    force: bool = Field(False, description="decide a report another moderator claimed")


class DecisionResult(WireModel):
    """The decided report, and the other open reports on its subject decided with it."""

    report: QueuedReport
    also_decided: list[int] = Field(description="ids of the other reports decided alike")
    advisory: str = Field(
        "",
        exclude_if=omit_empty,
        description="the advisory draft an `advisory` decision opened (`/advisories/{id}`)",
    )
