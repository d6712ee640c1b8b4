"""When verdicts are issued: in the transaction of the event that changes the answer
(docs/communities.md, "When a verdict is issued").

One hook on the session factory watches the audited events each flush adds: a release
published (`version.publish`), an audit accepted or revoked, a policy or criterion
version published, a trust statement made, a package's expectations declared; and each
finished build, which changes the `build-verified` fact. Just
before the transaction commits, it re-evaluates what those events can change, so the new
verdicts, and their `community.verdict` log records, commit with the event or not at
all. No domain below calls into this one.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event, select
from sqlalchemy.orm import Session, sessionmaker

from fpmreg.server.accounts.models import Namespace
from fpmreg.server.builds.models import Build, BuildOutcome
from fpmreg.server.clock import Clock
from fpmreg.server.communities.imports import queue_imports
from fpmreg.server.communities.service import CommunitiesService
from fpmreg.server.communities.verdicts import VerdictsService
from fpmreg.server.events import Event
from fpmreg.server.packages.models import Package, Version
from fpmreg.server.transaction import after_rollback, before_commit

TRIGGERS = frozenset(
    {"version.publish", "community.audit-accept", "community.audit-revoke", "community.publish",
     "community.trust", "package.expectations"}
)  # fmt: skip
_PENDING = "fpmreg.communities.verdicts-pending"
_BUILT = "fpmreg.communities.verdicts-built"  # version ids whose build finished
_INSTALLED = "_fpmreg_verdicts_hook"


def evaluate_events(session: Session, service: VerdictsService, rows: list[Event]) -> None:
    """Re-evaluate what `rows` change, each package or community once."""
    communities: set[str] = set()
    audited: set[tuple[str, str]] = set()
    releases: set[tuple[str, str]] = set()
    declared: set[str] = set()
    policies = False
    for row in rows:
        data = row.data or {}
        policies |= row.action == "community.publish" and data.get("kind") == "policies"
        if row.action == "version.publish":
            package, _, version = row.subject.removeprefix("package:").partition("@")
            releases.add((package, version))
        elif (
            row.action == "community.publish" and data.get("kind") in ("policies", "criteria")
        ) or row.action == "community.trust":
            communities.add(str(data.get("community", "")))
        elif row.action == "package.expectations":  # facts changed (docs/vetting.md)
            declared.add(row.subject.removeprefix("package:"))
        elif row.action in ("community.audit-accept", "community.audit-revoke"):
            audited.add((str(data.get("community", "")), str(data.get("package", ""))))
    for uri in sorted(communities):
        service.community_changed(uri)
    for uri, package in sorted(audited):
        service.audit_changed(uri, package)
    for package in sorted(declared):
        service.facts_changed(package)
    for package, version in sorted(releases):
        service.release_published(package, version)
    if policies:  # remote acceptFrom communities are imported by a job, never here
        queue_imports(session, service, service.communities.clock.now())


def built_packages(session: Session, version_ids: set[int]) -> list[str]:
    """`namespace/name` of the packages of `version_ids`, each once, sorted."""
    if not version_ids:
        return []
    rows = session.execute(
        select(Namespace.name, Package.name)
        .join(Package, Package.namespace_id == Namespace.id)
        .join(Version, Version.package_id == Package.id)
        .where(Version.id.in_(version_ids))
    ).all()
    return sorted({f"{ns}/{name}" for ns, name in rows})


def install_verdicts_hook(sessions: sessionmaker[Session], clock: Clock, base_url: str) -> None:
    """Issue verdicts for every change committed through `sessions` (once per factory)."""
    if getattr(sessions, _INSTALLED, False):
        return
    setattr(sessions, _INSTALLED, True)

    def collect(session: Session, _context: Any) -> None:
        rows = [o for o in session.new if isinstance(o, Event) and o.action in TRIGGERS]
        # A finished build changes the `build-verified` fact (docs/vetting.md, "Facts").
        built = [
            o.version_id for o in (*session.new, *session.dirty)
            if isinstance(o, Build) and o.outcome != BuildOutcome.PENDING
        ]  # fmt: skip
        if not rows and not built:
            return
        pending: list[Event] | None = session.info.get(_PENDING)
        if pending is None:
            pending = session.info[_PENDING] = []
            session.info[_BUILT] = set()

            def evaluate() -> None:
                rows = sorted(session.info.pop(_PENDING, []), key=lambda r: r.id)
                versions = session.info.pop(_BUILT, set())
                service = VerdictsService(session, CommunitiesService(session, clock, base_url))
                evaluate_events(session, service, rows)
                for package in built_packages(session, versions):
                    service.facts_changed(package)

            def forget() -> None:
                session.info.pop(_PENDING, None)
                session.info.pop(_BUILT, None)

            before_commit(session, evaluate)
            after_rollback(session, forget)
        pending.extend(rows)
        session.info[_BUILT].update(built)

    event.listen(sessions, "after_flush", collect)
