"""The moderators' queue: list and filter reports, claim one, decide it.

A decision (dismiss, yank, quarantine, delete, advisory) decides every open report on
the same subject alike, changes the package through the package-state services (or opens
an advisory draft through the `AdvisoryDrafter` the app plugs in), and tells the
reporters and the package's owners the outcome (owners never learn who reported).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from fpmreg.core.wire.reports import MAX_DECISION_REASON_LENGTH, QUEUE_PAGE_SIZE
from fpmreg.server.accounts.models import User
from fpmreg.server.clock import Clock
from fpmreg.server.errors import Conflict, InvalidInput, NotFound
from fpmreg.server.events import Event, record_event
from fpmreg.server.moderation.deletion import DeletionService
from fpmreg.server.moderation.models import Decision, Report, ReportCategory, ReportStatus
from fpmreg.server.moderation.notifications import NotificationsService
from fpmreg.server.moderation.permissions import Action, Principal, require
from fpmreg.server.moderation.quarantine import QuarantineService
from fpmreg.server.moderation.remote import RemoteDecisionListener, answer_flaggers
from fpmreg.server.moderation.reports import owner_ids
from fpmreg.server.moderation.roles import principals_for
from fpmreg.server.moderation.yanking import YankService
from fpmreg.server.packages.models import Package

# Deep pages of a queue nobody reads that far only cost the database.
MAX_QUEUE_PAGE = 1000
PENDING = "pending"  # the default status filter: open or claimed
ALL = "all"
_OUTCOME = {
    Decision.DISMISS: "dismissed: no action was taken",
    Decision.YANK: "the version is yanked",
    Decision.QUARANTINE: "the package is quarantined for review",
    Decision.DELETE: "it is deleted from the registry",
    Decision.ADVISORY: "a security advisory is being prepared",
}


class AdvisoryDrafter(Protocol):
    """Opens an advisory draft for a decided report. The advisories domain, which
    moderation may not import, is joined in the web layer
    (`fpmreg.server.web.advisory_drafts`); without one the decision is not offered."""

    def open_draft(
        self, session: Session, moderator: User, package: Package, version: str, text: str
    ) -> str:
        """Create a draft by `moderator` about `package` (or its `version`, when the
        report names one) from the decision's reason; return the new advisory's id."""
        ...


@dataclass(frozen=True, slots=True)
class QueueFilter:
    """What the queue shows: by category, status, age in days, subject prefix."""

    category: str = ""
    status: str = PENDING  # open, claimed, decided, pending (open or claimed), all
    older_than_days: int | None = None
    newer_than_days: int | None = None
    subject: str = ""  # a prefix of `namespace/name[@version]`, any case
    trusted_first: bool = False
    page: int = 1


@dataclass(frozen=True, slots=True)
class QueuePage:
    """One page of the queue."""

    reports: list[Report]
    total: int
    page: int
    pages: int


class QueueService:
    """The moderators' side of reports, in the caller's transaction (it commits)."""

    def __init__(
        self,
        session: Session,
        clock: Clock,
        *,
        quarantine: QuarantineService,
        deletion: DeletionService,
        yanking: YankService,
        notifications: NotificationsService,
        advisories: AdvisoryDrafter | None = None,
        remote: RemoteDecisionListener | None = None,
    ) -> None:
        self.session = session
        self.clock = clock
        self.quarantine = quarantine
        self.deletion = deletion
        self.yanking = yanking
        self.notifications = notifications
        self.advisories = advisories
        self.remote = remote

    def decisions_for(self, report: Report) -> list[Decision]:
        """The decisions offered for `report`: yank only for a version, advisory only
        when the app can open one."""
        return [
            d
            for d in _OUTCOME
            if (d is not Decision.YANK or report.version)
            and (d is not Decision.ADVISORY or self.advisories is not None)
        ]

    # Reading -----------------------------------------------------------------

    def list_reports(self, moderator: User | None, where: QueueFilter) -> QueuePage:
        """One page of reports matching `where` (moderators and site admins only)."""
        require(principals_for(self.session, moderator), Action.VIEW_QUEUE, "the queue")
        if not 1 <= where.page <= MAX_QUEUE_PAGE:
            raise InvalidInput(
                "page-invalid", f"`page` must be between 1 and {MAX_QUEUE_PAGE}", "page"
            )
        query = self._filtered(where)
        total = self.session.scalar(select(func.count()).select_from(query.subquery())) or 0
        order = [Report.trusted.desc()] if where.trusted_first else []
        rows = self.session.scalars(
            query.order_by(*order, Report.created_at, Report.id)
            .offset((where.page - 1) * QUEUE_PAGE_SIZE)
            .limit(QUEUE_PAGE_SIZE)
        )
        pages = max(1, math.ceil(total / QUEUE_PAGE_SIZE))
        return QueuePage(list(rows), total, where.page, pages)

    def _filtered(self, where: QueueFilter) -> Select[Report]:
        query = select(Report)
        if where.status == PENDING:
            query = query.where(Report.status != ReportStatus.DECIDED.value)
        elif where.status != ALL:
            if where.status not in ReportStatus._value2member_map_:
                raise InvalidInput(
                    "status-invalid",
                    f"`{where.status}` is not a status: use open, claimed, decided, "
                    f"{PENDING} or {ALL}",
                    "status",
                )
            query = query.where(Report.status == where.status)
        if where.category:
            if where.category not in ReportCategory._value2member_map_:
                raise InvalidInput(
                    "report-category-invalid",
                    f"`{where.category}` is not a report category",
                    "category",
                )
            query = query.where(Report.category == where.category)
        now = self.clock.now()
        for days, field in (
            (where.older_than_days, "older_than"),
            (where.newer_than_days, "newer_than"),
        ):
            if days is not None and not 0 <= days <= 36500:
                raise InvalidInput("age-invalid", f"`{field}` is a number of days", field)
        if where.older_than_days is not None:
            query = query.where(Report.created_at <= now - timedelta(days=where.older_than_days))
        if where.newer_than_days is not None:
            query = query.where(Report.created_at >= now - timedelta(days=where.newer_than_days))
        if where.subject.strip():
            query = query.where(
                func.lower(Report.subject).startswith(
                    where.subject.strip().lower(), autoescape=True
                )
            )
        return query

    def get_report(self, moderator: User | None, report_id: int) -> Report:
        """One report, for moderators and site admins."""
        require(principals_for(self.session, moderator), Action.VIEW_QUEUE, "the queue")
        report = self.session.get(Report, report_id)
        if report is None:
            raise NotFound("report-not-found", f"there is no report {report_id}")
        return report

    def open_on_subject(self, report: Report) -> list[Report]:
        """The other undecided reports on the report's subject, oldest first."""
        return list(
            self.session.scalars(
                select(Report)
                .where(
                    Report.subject == report.subject,
                    Report.id != report.id,
                    Report.status != ReportStatus.DECIDED.value,
                )
                .order_by(Report.created_at, Report.id)
            )
        )

    def usernames(self, reports: list[Report]) -> dict[int, str]:
        """Usernames of every reporter, claimer and decider of `reports`, by id."""
        ids = {
            i
            for r in reports
            for i in (r.reporter_id, r.claimed_by_id, r.decided_by_id)
            if i is not None
        }
        if not ids:
            return {}
        rows = self.session.execute(select(User.id, User.username).where(User.id.in_(ids)))
        return {user_id: name for user_id, name in rows}

    # Claiming ----------------------------------------------------------------

    def claim(self, moderator: User | None, report_id: int, *, force: bool = False) -> Report:
        """Take a report: others see who works on it. `force` takes it over."""
        report = self.get_report(moderator, report_id)
        assert moderator is not None  # get_report refused anonymous callers
        require(principals_for(self.session, moderator), Action.CLAIM, f"report {report_id}")
        self._check_undecided(report)
        self._check_claim(report, moderator, force)
        previous = report.claimed_by_id
        report.claimed_by_id = moderator.id
        report.claimed_at = self.clock.now()
        report.status = ReportStatus.CLAIMED.value
        record_event(
            self.session,
            at=report.claimed_at,
            actor_id=moderator.id,
            action="report.claim",
            subject=f"report:{report.id}",
            data={"taken_from": previous} if previous not in (None, moderator.id) else {},
        )
        self.session.flush()
        return report

    @staticmethod
    def _check_undecided(report: Report) -> None:
        if report.status == ReportStatus.DECIDED.value:
            raise Conflict(
                "report-decided",
                f"report {report.id} was already decided ({report.decision}); "
                "file a new report if something changed",
            )

    def _check_claim(self, report: Report, moderator: User, force: bool) -> None:
        holder = report.claimed_by_id
        if holder is None or holder == moderator.id or force:
            return
        name = self.usernames([report]).get(holder, "another moderator")
        raise Conflict(
            "report-claimed",
            f"`{name}` claimed report {report.id}: leave it to them, or take it over with `force`",
        )

    # Deciding ----------------------------------------------------------------

    def decide(
        self,
        moderator: User | None,
        report_id: int,
        *,
        decision: str,
        reason: str,
        force: bool = False,
    ) -> tuple[Report, list[Report]]:
        """Decide a report and the other open reports on its subject alike; returns
        the report and those others. Changes the package, audits, notifies."""
        report = self.get_report(moderator, report_id)
        assert moderator is not None
        package = self.session.get(Package, report.package_id) if report.package_id else None
        principals = principals_for(
            self.session, moderator, package.namespace_id if package else None
        )
        require(principals, Action.DECIDE, report.subject)
        self._check_undecided(report)
        self._check_claim(report, moderator, force)
        chosen = self._decision(decision, report, package)
        text = self._reason(reason)
        owners = owner_ids(self.session, package) if package else []
        others = self.open_on_subject(report)
        now = self.clock.now()
        for row in (report, *others):
            row.status = ReportStatus.DECIDED.value
            row.decided_by_id, row.decided_at = moderator.id, now
            row.decision, row.decision_reason = chosen.value, text
        self.session.flush()
        advisory = ""
        if chosen is Decision.ADVISORY and self.advisories is not None and package is not None:
            advisory = self.advisories.open_draft(
                self.session, moderator, package, report.version, text
            )
        recorded = self._apply(chosen, moderator, principals, report, package, text)
        # The transparency page counts events with a category: when the state service
        # recorded the change with its category, this event carries none (counted once).
        record_event(
            self.session,
            at=now,
            actor_id=moderator.id,
            action="report.decide",
            subject=f"package:{report.subject}",
            reason=text,
            category="" if recorded else report.category,
            data={
                "report": report.id,
                "decision": chosen.value,
                "also_decided": [r.id for r in others],
                **({"advisory": advisory} if advisory else {}),
            },
        )
        self.session.flush()
        self._notify(chosen, report, others, owners, text, advisory)
        if self.remote is not None:  # remote reports' flaggers hear the outcome
            answer_flaggers(self.remote, self.session, (report, *others), now,
                            accepted=chosen is not Decision.DISMISS, decision=chosen.value,
                            outcome=_OUTCOME[chosen])  # fmt: skip
        return report, others

    def advisory_of(self, report: Report) -> str:
        """The id of the advisory draft the report's `advisory` decision opened, or ""."""
        if report.decision != Decision.ADVISORY.value:
            return ""
        events = self.session.scalars(
            select(Event)
            .where(Event.action == "report.decide", Event.subject == f"package:{report.subject}")
            .order_by(Event.id.desc())
        )
        for event in events:
            data = event.data or {}
            if report.id == data.get("report") or report.id in data.get("also_decided", ()):
                return str(data.get("advisory", ""))
        return ""

    def _decision(self, decision: str, report: Report, package: Package | None) -> Decision:
        offered = ", ".join(f"`{d.value}`" for d in _OUTCOME if d is not Decision.ADVISORY)
        if self.advisories is not None:
            offered += f", `{Decision.ADVISORY.value}`"
        try:
            chosen = Decision(decision.strip().lower())
        except ValueError:
            chosen = None
        if chosen is None or chosen not in _OUTCOME:
            raise InvalidInput(
                "decision-invalid", f"`{decision}` is not a decision: use {offered}", "decision"
            )
        if chosen is Decision.YANK and not report.version:
            raise InvalidInput(
                "decision-needs-version",
                f"`{report.subject}` is a whole package: yank applies to one version; "
                "quarantine or delete the package instead",
                "decision",
            )
        if chosen is Decision.ADVISORY and self.advisories is None:
            raise Conflict(
                "advisory-decision-unavailable",
                "this registry opens no advisories from the queue: decide with "
                f"{offered}, and ask the security team to write the advisory",
                "decision",
            )
        if package is None and chosen is not Decision.DISMISS:
            raise Conflict(
                "package-gone",
                f"`{report.subject}` no longer exists: the only decision left is `dismiss`",
                "decision",
            )
        return chosen

    @staticmethod
    def _reason(reason: str) -> str:
        text = reason.strip()
        if not text:
            raise InvalidInput(
                "decision-reason-missing",
                "say why (the reporter and the owners are told)",
                "reason",
            )
        if len(text) > MAX_DECISION_REASON_LENGTH:
            raise InvalidInput(
                "decision-reason-too-long",
                f"the reason is over {MAX_DECISION_REASON_LENGTH} characters",
                "reason",
            )
        return text

    def _apply(
        self,
        decision: Decision,
        moderator: User,
        principals: set[Principal],
        report: Report,
        package: Package | None,
        reason: str,
    ) -> bool:
        """Change the package; True when the state service audited it with a category."""
        if package is None:
            return False
        ns, name, category = package.namespace.name, package.name, report.category
        if decision is Decision.DISMISS:
            return self._release_if_automatic(moderator, package, reason)
        if decision is Decision.ADVISORY:
            return False  # the draft is audited without a category: this event counts
        if decision is Decision.YANK:
            self.yanking.set_yanked(
                moderator.id,
                ns,
                name,
                report.version,
                yanked=True,
                reason=reason,
                category=category,
            )
            return True
        if decision is Decision.QUARANTINE:
            if package.quarantined_at is not None:
                return False  # already under review (the automatic rule): it stays
            self.quarantine.quarantine(moderator.id, ns, name, reason=reason, category=category)
            return True
        if report.version:
            self.deletion.delete_version(
                moderator.id, principals, ns, name, report.version, reason=reason, category=category
            )
        else:
            self.deletion.delete_package(
                moderator.id, principals, ns, name, reason=reason, category=category
            )
        return True

    def _release_if_automatic(self, moderator: User, package: Package, reason: str) -> bool:
        """Dismissing the last open malware report ends a quarantine the automatic rule
        started ("until a moderator decides"); one a moderator started stays."""
        if package.quarantined_at is None:
            return False
        still_open = self.session.scalar(
            select(func.count(Report.id)).where(
                Report.package_id == package.id,
                Report.category == ReportCategory.MALWARE.value,
                Report.status != ReportStatus.DECIDED.value,
            )
        )
        last = self.session.scalar(
            select(Event)
            .where(
                Event.action == "package.quarantine",
                Event.subject == f"package:{package.namespace.name}/{package.name}",
            )
            .order_by(Event.id.desc())
            .limit(1)
        )
        if still_open or last is None or last.actor_id is not None:
            return False
        self.quarantine.release(
            moderator.id, package.namespace.name, package.name, reason=f"report dismissed: {reason}"
        )
        return False  # a release is not a moderation action with a category

    def _notify(
        self,
        decision: Decision,
        report: Report,
        others: list[Report],
        owners: list[int],
        reason: str,
        advisory: str = "",
    ) -> None:
        ns_name = report.subject.partition("@")[0]
        url = f"/project/{ns_name}"
        outcome = _OUTCOME[decision]
        # Reporters who do not own the package cannot see a draft: no link, a sentence.
        draft_note = (
            " It stays private to the package's maintainers and the security team until "
            "it is published on the package's page."
            if advisory
            else ""
        )
        reporters = {r.reporter_id for r in (report, *others) if r.reporter_id is not None}
        self.notifications.notify(
            sorted(reporters),
            kind="report.decided",
            subject=f"Your report of `{report.subject}` was decided",
            message=f"Moderators decided your report of `{report.subject}`: {outcome}. "
            f"Reason: {reason}{draft_note}",
            url=url,
        )
        told_owners = sorted(set(owners) - reporters)
        if told_owners:
            draft = f" The draft is advisory {advisory}: complete and publish it."
            draft = draft if advisory else ""
            self.notifications.notify(
                told_owners,
                kind="report.decided",
                subject=f"A report about `{report.subject}` was decided",
                message=f"Moderators decided a report about your package `{report.subject}` "
                f"({report.category}): {outcome}. Reason: {reason}{draft}",
                url=f"/advisories/{advisory}" if advisory else url,
            )
