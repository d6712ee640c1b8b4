"""Reports from other servers (ActivityPub `Flag`s) and the decisions other registries
send back about the Flags this one sent (docs/activitypub.md, "Federated reports").

`RemoteReports` is the sink the federation domain files inbound Flags into; the two
domains never import each other (docs/architecture.md, "Layers"), `create_app` plugs
this in. A remote report has no local reporter: it names the remote actor, is never
trusted, and does not run the automatic quarantine (anyone on the fediverse can send a
Flag; only the queue's moderators act on it).
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol
from urllib.parse import urlsplit

from sqlalchemy.orm import Session

from fpmreg.server.clock import Clock
from fpmreg.server.events import record_event
from fpmreg.server.moderation.models import Report, ReportCategory, ReportStatus
from fpmreg.server.moderation.notifications import NotificationsService
from fpmreg.server.packages.service import PackagesService
from fpmreg.server.storage import BlobStore


def remote_host(actor: str) -> str:
    """The host (and port) of a remote actor's URL, as the queue shows it."""
    return urlsplit(actor).netloc


def category_of(text: str) -> ReportCategory:
    """A Flag's `fpmregCategory`; a missing or unknown one is `other`."""
    try:
        return ReportCategory(text.strip().lower())
    except ValueError:
        return ReportCategory.OTHER


class RemoteDecisionListener(Protocol):
    """Told when a report that came from another server (an ActivityPub `Flag`) is
    decided, so the flagger hears the outcome. The federation domain implements it
    (`federation.flags.SendFlagDecisions`), `create_app` plugs it in."""

    def remote_report_decided(
        self,
        session: Session,
        *,
        flag_id: str,
        accepted: bool,
        decision: str,
        summary: str,
        now: datetime,
    ) -> None:
        """`accepted`: action was taken (False: dismissed); `summary` is public text."""
        ...


def answer_flaggers(
    listener: RemoteDecisionListener, session: Session, reports: tuple[Report, ...],
    now: datetime, *, accepted: bool, decision: str, outcome: str,
) -> None:  # fmt: skip
    """Tell the flagger of each remote report among `reports` the decision: the public
    outcome, never the moderator or their reason."""
    for row in reports:
        if row.remote_flag_id:
            listener.remote_report_decided(
                session, flag_id=row.remote_flag_id, accepted=accepted, decision=decision,
                summary=f"{row.subject}: {outcome}", now=now,
            )  # fmt: skip


class RemoteReports:
    """Files remote reports and records remote decisions, on the caller's session (the
    federation domain's `RemoteReportSink`)."""

    def __init__(self, clock: Clock, store: BlobStore, *, mail: bool, base_url: str) -> None:
        self.clock = clock
        self.store = store
        self.mail = mail
        self.base_url = base_url

    def file_remote_report(
        self, session: Session, *, remote_actor: str, flag_id: str, namespace: str,
        name: str, version: str, category: str, content: str, now: datetime,
    ) -> int:  # fmt: skip
        """A report on `namespace/name[@version]` from `remote_actor`; its id. 404 (or
        410) when the package or version does not exist."""
        packages = PackagesService(session, self.clock, self.store, base_url=self.base_url)
        package = packages.get_package(namespace, name)
        subject = f"{package.namespace.name}/{package.name}"
        shown = packages.get_version(package, version).version if version else ""
        subject += f"@{shown}" if shown else ""
        report = Report(
            reporter_id=None, package_id=package.id, subject=subject, version=shown,
            category=category_of(category).value, message=content, trusted=False,
            status=ReportStatus.OPEN.value, created_at=now, remote_actor=remote_actor,
            remote_flag_id=flag_id,
        )  # fmt: skip
        session.add(report)
        session.flush()
        record_event(session, at=now, actor_id=None, action="report.file",
                     subject=f"report:{report.id}",
                     data={"package": subject, "remote": remote_host(remote_actor)})  # fmt: skip
        return report.id

    def remote_decision(
        self, session: Session, *, report_id: int | None, accepted: bool, decision: str,
        summary: str, remote_host: str, now: datetime,
    ) -> None:  # fmt: skip
        """Another registry decided the Flag this one sent for local report `report_id`:
        its reporter and the moderators who handled it are told, and it is audited."""
        report = session.get(Report, report_id) if report_id is not None else None
        if report is None:
            return
        outcome = "took action" if accepted else "dismissed it"
        record_event(session, at=now, actor_id=None, action="report.remote-decision",
                     subject=f"report:{report.id}",
                     data={"host": remote_host, "accepted": accepted,
                           "decision": decision})  # fmt: skip
        told = {report.reporter_id, report.claimed_by_id, report.decided_by_id} - {None}
        notifications = NotificationsService(session, self.clock, mail=self.mail,
                                             base_url=self.base_url)  # fmt: skip
        notifications.notify(
            sorted(i for i in told if i is not None),
            kind="report.remote-decided",
            subject=f"{remote_host} decided the report of `{report.subject}`",
            message=f"The registry at {remote_host}, which publishes `{report.subject}`, "
            f"{outcome} ({decision or 'no decision given'}): {summary or 'no summary'}",
            url=f"/project/{report.subject.partition('@')[0]}",
        )
