"""Filing reports (docs/registry-rules.md, "Reports"), and the automatic quarantine.

Any signed-in user reports a package or one version of it. A reporter files at most
`MAX_REPORTS_PER_HOUR` reports an hour and has one open report per subject. Each
malware report runs the rule of `fpmreg.core.quarantine_rule`.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from fpmreg.core.quarantine_rule import MalwareReport, Verdict, decide
from fpmreg.core.wire.reports import MAX_REPORT_MESSAGE_LENGTH
from fpmreg.server.accounts.models import Membership, SiteRole, User
from fpmreg.server.clock import Clock
from fpmreg.server.errors import Conflict, InvalidInput, RateLimited
from fpmreg.server.events import record_event
from fpmreg.server.moderation.models import Report, ReportCategory, ReportStatus
from fpmreg.server.moderation.notifications import NotificationsService
from fpmreg.server.moderation.permissions import Action, require
from fpmreg.server.moderation.quarantine import QuarantineService
from fpmreg.server.moderation.roles import principals_for, site_roles
from fpmreg.server.packages.models import Package
from fpmreg.server.packages.service import PackagesService

# Enough for a careful user who finds a whole typosquatting campaign; too few to flood
# the queue. Counted in the database, so every server process shares the count.
MAX_REPORTS_PER_HOUR = 10
_HOUR = timedelta(hours=1)


def package_url(package: Package) -> str:
    """The package's page, a path on this registry."""
    return f"/project/{package.namespace.name}/{package.name}"


def owner_ids(session: Session, package: Package) -> list[int]:
    """Every member of the package's namespace: its owners."""
    rows = session.scalars(
        select(Membership.user_id).where(Membership.namespace_id == package.namespace_id)
    )
    return sorted(set(rows))


class ReportForwarder(Protocol):
    """Told of each report filed, to pass it on where the package comes from: the
    federation domain's `ForwardToOrigin` sends a mirrored package's to its origin
    (docs/mirrors.md, "Reports"); `create_app` plugs it in."""

    def report_filed(
        self, session: Session, *, report_id: int, namespace_id: int, name: str,
        version: str, category: str, message: str, now: datetime,
    ) -> str: ...  # fmt: skip


class ReportsService:
    """File reports, in the caller's transaction (it commits)."""

    def __init__(
        self,
        session: Session,
        clock: Clock,
        packages: PackagesService,
        quarantine: QuarantineService,
        notifications: NotificationsService,
        forwarder: ReportForwarder | None = None,
    ) -> None:
        self.session = session
        self.clock = clock
        self.packages = packages
        self.quarantine = quarantine
        self.notifications = notifications
        self.forwarder = forwarder

    def file_report(
        self,
        reporter: User,
        namespace: str,
        name: str,
        *,
        category: str,
        message: str,
        version: str = "",
    ) -> Report:
        """Report a package, or one version of it. Audited as `report.file`."""
        package = self.packages.get_package(namespace, name)
        require(principals_for(self.session, reporter, package.namespace_id), Action.REPORT)
        kind = self._category(category)
        text = self._message(message)
        subject = f"{package.namespace.name}/{package.name}"
        shown = ""
        if version.strip():
            shown = self.packages.get_version(package, version.strip()).version  # 404
            subject += f"@{shown}"
        self._check_rate(reporter)
        self._check_open(reporter, subject)
        report = Report(
            reporter_id=reporter.id,
            package_id=package.id,
            subject=subject,
            version=shown,
            category=kind.value,
            message=text,
            trusted=SiteRole.TRUSTED_REPORTER in site_roles(self.session, reporter),
            status=ReportStatus.OPEN.value,
            created_at=self.clock.now(),
        )
        try:  # two tabs posting at once: the unique partial index decides
            with self.session.begin_nested():
                self.session.add(report)
                self.session.flush()
        except IntegrityError:
            raise self._exists(subject) from None
        # The subject is the report, not the package: the package's owners read its
        # events, and they are never told who reported it. No message text either.
        record_event(
            self.session,
            at=report.created_at,
            actor_id=reporter.id,
            action="report.file",
            subject=f"report:{report.id}",
            data={"package": subject},
        )
        self.session.flush()
        if self.forwarder is not None:  # a mirrored package: its origin hears of it too
            self.forwarder.report_filed(
                self.session, report_id=report.id, namespace_id=package.namespace_id,
                name=package.name, version=shown, category=kind.value, message=text,
                now=report.created_at,
            )  # fmt: skip
        if kind is ReportCategory.MALWARE:
            self.apply_quarantine_rule(package)
        return report

    def _category(self, category: str) -> ReportCategory:
        try:
            return ReportCategory(category.strip().lower())
        except ValueError:
            raise InvalidInput(
                "report-category-invalid",
                f"`{category}` is not a report category: use one of "
                + ", ".join(f"`{c.value}`" for c in ReportCategory),
                "category",
            ) from None

    def _message(self, message: str) -> str:
        text = message.strip()
        if not text:
            raise InvalidInput(
                "report-message-missing",
                "say what is wrong and where to look (a file, a version, a link)",
                "message",
            )
        if len(text) > MAX_REPORT_MESSAGE_LENGTH:
            raise InvalidInput(
                "report-message-too-long",
                f"the message is {len(text)} characters; keep it under "
                f"{MAX_REPORT_MESSAGE_LENGTH} and link to longer material",
                "message",
            )
        return text

    def _check_rate(self, reporter: User) -> None:
        since = self.clock.now() - _HOUR
        recent = list(
            self.session.scalars(
                select(Report.created_at)
                .where(Report.reporter_id == reporter.id, Report.created_at > since)
                .order_by(Report.created_at)
            )
        )
        if len(recent) < MAX_REPORTS_PER_HOUR:
            return
        wait = int((recent[0] + _HOUR - self.clock.now()).total_seconds()) + 1
        raise RateLimited(
            "rate-limited",
            f"you filed {len(recent)} reports in the last hour, the most allowed "
            f"({MAX_REPORTS_PER_HOUR}): try again in {max(1, wait // 60)} minutes",
            retry_after=wait,
        )

    def _check_open(self, reporter: User, subject: str) -> None:
        found = self.session.scalar(
            select(func.count(Report.id)).where(
                Report.reporter_id == reporter.id,
                Report.subject == subject,
                Report.status != ReportStatus.DECIDED.value,
            )
        )
        if found:
            raise self._exists(subject)

    @staticmethod
    def _exists(subject: str) -> Conflict:
        return Conflict(
            "report-exists",
            f"you already have an open report on `{subject}`: moderators will tell you "
            "the outcome; add to it once it is decided",
        )

    def quarantine_verdict(self, package: Package) -> Verdict:
        """The automatic rule on the package's open malware reports (any version)."""
        rows = self.session.execute(
            select(Report.reporter_id, Report.trusted).where(
                Report.package_id == package.id,
                Report.category == ReportCategory.MALWARE.value,
                Report.status != ReportStatus.DECIDED.value,
                Report.remote_actor == "",  # remote reports never quarantine by rule
            )
        )
        reports = [MalwareReport(reporter_id, trusted) for reporter_id, trusted in rows]
        return decide(reports, package.created_at, self.clock.now())

    def apply_quarantine_rule(self, package: Package) -> Verdict:
        """Quarantine `package` now if the rule says so and it is not already; its
        owners are notified. `actor_id=None` in the audit log marks the rule."""
        verdict = self.quarantine_verdict(package)
        if not verdict.quarantine or package.quarantined_at is not None:
            return verdict
        ns, name = package.namespace.name, package.name
        self.quarantine.quarantine(
            None, ns, name, reason=verdict.why, category=ReportCategory.MALWARE.value
        )
        self.notifications.notify(
            owner_ids(self.session, package),
            kind="package.quarantined",
            subject=f"`{ns}/{name}` is quarantined for review",
            message=(
                f"Your package `{ns}/{name}` was reported as malware and is quarantined "
                f"until a moderator decides ({verdict.why}). While it is under review it "
                "cannot be installed, is not listed, and you cannot publish to it. "
                "Moderators will tell you their decision."
            ),
            url=package_url(package),
        )
        return verdict
