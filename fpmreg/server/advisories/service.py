"""Writing advisories: drafts, updates, publishing and withdrawing, and who may see them."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from fpmreg.core.names import canonical_name
from fpmreg.core.wire.advisories import AdvisoryWrite
from fpmreg.server.accounts.models import Membership, Namespace, SiteRole, User, UserRole
from fpmreg.server.advisories.models import MAX_ID_LENGTH, Advisory, AdvisoryPackage
from fpmreg.server.advisories.notices import NoListener, Published, PublishListener
from fpmreg.server.advisories.queries import lookup_name
from fpmreg.server.advisories.records import (
    build_record,
    check_record,
    osv_time,
    write_problems,
)
from fpmreg.server.changes import ChangeCounter
from fpmreg.server.clock import Clock
from fpmreg.server.errors import Conflict, Forbidden, InvalidInput, NotFound, Unauthenticated
from fpmreg.server.events import record_event
from fpmreg.server.packages.models import Package, PackageMaintainer

# `FPMREG-2026-0001`: four digits, more when a year has more advisories.
SEQUENCE_DIGITS = 4
# Tries for a free id when concurrent writers take the same next number (then a 409).
ID_ATTEMPTS = 5


def advisory_url(osv_id: str) -> str:
    """The advisory's page on this registry."""
    return f"/advisories/{osv_id}"


def state_of(advisory: Advisory) -> Literal["draft", "published", "withdrawn"]:
    """`draft`, `published` or `withdrawn`."""
    if advisory.draft:
        return "draft"
    return "withdrawn" if advisory.withdrawn_at is not None else "published"


def is_security_team(session: Session, user: User | None) -> bool:
    """Whether `user` holds the `security` site role (or is a site admin)."""
    if user is None:
        return False
    if user.is_admin:
        return True
    role = session.scalar(
        select(UserRole.role).where(
            UserRole.user_id == user.id, UserRole.role == SiteRole.SECURITY.value
        )
    )
    return role is not None


def is_maintainer(session: Session, user: User | None, package: Package) -> bool:
    """Whether `user` maintains `package`: a member of its namespace, or one of its
    per-package maintainers."""
    if user is None:
        return False
    if is_member(session, user, package.namespace_id):
        return True
    found = session.scalar(
        select(PackageMaintainer.user_id).where(
            PackageMaintainer.user_id == user.id, PackageMaintainer.package_id == package.id
        )
    )
    return found is not None


def is_member(session: Session, user: User | None, namespace_id: int) -> bool:
    """Whether `user` is a member (any role) of the namespace."""
    if user is None:
        return False
    found = session.scalar(
        select(Membership.user_id).where(
            Membership.user_id == user.id, Membership.namespace_id == namespace_id
        )
    )
    return found is not None


@dataclass
class AdvisoriesService:
    """Drafts, publishes and withdraws advisories; flushes, never commits."""

    session: Session
    clock: Clock
    prefix: str = "FPMREG"
    listener: PublishListener = field(default_factory=NoListener)
    changes: ChangeCounter | None = None

    # --- who may do what -------------------------------------------------------

    def may_edit(self, user: User | None, advisory: Advisory) -> bool:
        """Namespace members of the package and the security team edit and publish."""
        if is_security_team(self.session, user):
            return True
        package = self._package_of(advisory)
        return package is not None and is_maintainer(self.session, user, package)

    def visible(self, user: User | None, advisory: Advisory) -> bool:
        """Published advisories are public; drafts only for those who may edit them, and
        for their author (a moderator who opened it from a report sees what they opened)."""
        if not advisory.draft:
            return True
        if user is not None and advisory.created_by_id == user.id:
            return True
        return self.may_edit(user, advisory)

    def get(self, osv_id: str, user: User | None) -> Advisory:
        """An advisory `user` may see, or `NotFound` (drafts do not leak their ids)."""
        plain = "\x00" not in osv_id and len(osv_id) <= MAX_ID_LENGTH  # PostgreSQL: no NUL
        advisory = (
            self.session.scalar(select(Advisory).where(Advisory.osv_id == osv_id))
            if plain
            else None
        )
        if advisory is None or not self.visible(user, advisory):
            raise NotFound("advisory-not-found", f"advisory `{osv_id}` not found")
        return advisory

    # --- writes --------------------------------------------------------------

    def create_draft(self, user: User | None, write: AdvisoryWrite) -> Advisory:
        """A new draft with the next free id of this year; only the package's namespace
        members and the security team may write one."""
        package = self._writable_package(user, write)
        assert user is not None  # _writable_package refuses anonymous writers
        return self._insert_draft(user, write, package)

    def create_draft_for_moderation(self, moderator: User, write: AdvisoryWrite) -> Advisory:
        """The draft a moderator opens by deciding a report with "open an advisory"
        (docs/moderation.md): moderators and site admins write it without being the
        package's maintainers or on the security team. It stays a draft, seen by the
        maintainers, the security team and its author; they complete and publish it."""
        role = self.session.scalar(
            select(UserRole.role).where(
                UserRole.user_id == moderator.id, UserRole.role == SiteRole.MODERATOR.value
            )
        )
        if role is None and not moderator.is_admin:
            raise Forbidden(
                "advisory-forbidden", "only moderators open advisory drafts from reports"
            )
        problems = write_problems(write)
        if problems:
            raise InvalidInput.of(problems)
        return self._insert_draft(moderator, write, self.package_named(write.package))

    def _insert_draft(self, user: User, write: AdvisoryWrite, package: Package) -> Advisory:
        now = self.clock.now()
        name = f"{package.namespace.name}/{package.name}"
        for _ in range(ID_ATTEMPTS):
            advisory = self._new_draft(user, write, package.id, name, now)
            try:
                with self.session.begin_nested():  # a lost race for the id leaves us usable
                    self.session.add(advisory)
                    self.session.flush()
            except IntegrityError:
                continue  # another writer took this id at the same instant: take the next
            self._audit(user, "advisory.create", advisory, now)
            self.session.flush()
            return advisory
        raise Conflict(
            "advisory-id-busy", "many advisories are being written at once: send it again"
        )

    def _new_draft(
        self, user: User, write: AdvisoryWrite, package_id: int, name: str, now: datetime
    ) -> Advisory:
        osv_id = self._next_id(now)
        record = build_record(write, osv_id=osv_id, package=name, modified=now, published=None)
        check_record(record, self.prefix)
        advisory = Advisory(
            osv_id=osv_id,
            ecosystem="fpm",
            package=name,
            package_id=package_id,
            record=record,
            summary=write.summary,
            draft=True,
            created_at=now,
            created_by_id=user.id,
            modified_at=now,
        )
        advisory.packages = [AdvisoryPackage(ecosystem="fpm", name=lookup_name("fpm", name))]
        return advisory

    def update(self, user: User | None, osv_id: str, write: AdvisoryWrite) -> Advisory:
        """New content for a draft or a published advisory (its `modified` moves)."""
        advisory = self._editable(user, osv_id)
        package = self._writable_package(user, write)
        if package.id != advisory.package_id:
            raise InvalidInput(
                "advisory-package-changed",
                f"advisory `{osv_id}` is about `{advisory.package}`: write a new advisory "
                "for another package",
                "package",
            )
        now = self.clock.now()
        record = build_record(
            write,
            osv_id=osv_id,
            package=advisory.package,
            modified=now,
            published=advisory.published_at,
        )
        if advisory.withdrawn_at is not None:
            record["withdrawn"] = osv_time(advisory.withdrawn_at)
        check_record(record, self.prefix)
        advisory.record = record
        advisory.summary = write.summary
        advisory.modified_at = now
        self._audit(user, "advisory.update", advisory, now)
        self._changed()
        self.session.flush()
        return advisory

    def publish(self, user: User | None, osv_id: str) -> Advisory:
        """Publish a draft: it becomes public, and the listener tells those concerned."""
        advisory = self._editable(user, osv_id)
        if not advisory.draft:
            raise Conflict("advisory-published", f"advisory `{osv_id}` is already published")
        now = self.clock.now()
        record = copy.deepcopy(advisory.record)
        record["published"] = record["modified"] = osv_time(now)
        check_record(record, self.prefix)
        advisory.record = record
        advisory.draft = False
        advisory.published_at = advisory.modified_at = now
        self._audit(user, "advisory.publish", advisory, now)
        package = self._package_of(advisory)
        if package is not None:
            self.listener.advisory_published(
                self.session,
                Published(
                    osv_id=osv_id,
                    summary=advisory.summary,
                    package=advisory.package,
                    package_id=package.id,
                    namespace_id=package.namespace_id,
                    url=advisory_url(osv_id),
                ),
            )
        self._changed()
        self.session.flush()
        return advisory

    def withdraw(self, user: User | None, osv_id: str, reason: str) -> Advisory:
        """Withdraw a published advisory: still served, with `withdrawn` set, and no
        longer affecting anything (OSV's meaning)."""
        advisory = self._editable(user, osv_id)
        if advisory.draft:
            raise Conflict(
                "advisory-draft",
                f"advisory `{osv_id}` is a draft: drafts are not withdrawn, just left unpublished",
            )
        if advisory.withdrawn_at is not None:
            raise Conflict("advisory-withdrawn", f"advisory `{osv_id}` is already withdrawn")
        now = self.clock.now()
        record = copy.deepcopy(advisory.record)
        record["withdrawn"] = record["modified"] = osv_time(now)
        check_record(record, self.prefix)
        advisory.record = record
        advisory.withdrawn_at = advisory.modified_at = now
        self._audit(user, "advisory.withdraw", advisory, now, reason=reason)
        self._changed()
        self.session.flush()
        return advisory

    # --- helpers ---------------------------------------------------------------

    def _package_of(self, advisory: Advisory) -> Package | None:
        if advisory.package_id is None:
            return None
        return self.session.get(Package, advisory.package_id)

    def package_named(self, text: str) -> Package:
        """The registry package `namespace/name`, or `NotFound`."""
        namespace, _, name = text.partition("/")
        package = self.session.scalar(
            select(Package)
            .join(Package.namespace)
            .where(
                Namespace.canonical == canonical_name(namespace),
                Package.canonical == canonical_name(name),
            )
        )
        if package is None:
            raise NotFound("package-not-found", f"package `{text}` not found", "package")
        return package

    def _writable_package(self, user: User | None, write: AdvisoryWrite) -> Package:
        if user is None:
            raise Unauthenticated("sign-in-required", "sign in to write an advisory")
        problems = write_problems(write)
        if problems:
            raise InvalidInput.of(problems)
        package = self.package_named(write.package)
        if not (is_security_team(self.session, user) or is_maintainer(self.session, user, package)):
            raise Forbidden(
                "advisory-forbidden",
                f"only maintainers of `{package.namespace.name}/{package.name}` (its "
                "namespace's members and its package maintainers) and the security team "
                "write advisories for it",
            )
        return package

    def _editable(self, user: User | None, osv_id: str) -> Advisory:
        if user is None:
            raise Unauthenticated("sign-in-required", "sign in to change an advisory")
        advisory = self.get(osv_id, user)
        if advisory.package_id is None or not self.may_edit(user, advisory):
            raise Forbidden(
                "advisory-forbidden",
                f"only the package's namespace members and the security team change "
                f"advisory `{osv_id}`",
            )
        return advisory

    def _next_id(self, now: datetime) -> str:
        stem = f"{self.prefix}-{now.year}-"
        taken = self.session.scalars(
            select(Advisory.osv_id).where(Advisory.osv_id.startswith(stem, autoescape=True))
        )
        numbers = [int(t[len(stem) :]) for t in taken if t[len(stem) :].isdigit()]
        return f"{stem}{max(numbers, default=0) + 1:0{SEQUENCE_DIGITS}d}"

    def _audit(
        self, user: User | None, action: str, advisory: Advisory, at: datetime, reason: str = ""
    ) -> None:
        record_event(
            self.session,
            at=at,
            actor_id=user.id if user is not None else None,
            action=action,
            subject=f"advisory:{advisory.osv_id}",
            reason=reason,
            data={"package": advisory.package},
        )

    def _changed(self) -> None:
        # The fpm metadata (cached per process) embeds published advisories.
        if self.changes is not None:
            self.changes.bump(self.session)


def count_advisories(session: Session) -> int:
    """How many advisories are stored (drafts included)."""
    return int(session.scalar(select(func.count()).select_from(Advisory)) or 0)


def record_of(advisory: Advisory) -> dict[str, Any]:
    """The OSV record as served (a copy: callers may not change the stored one)."""
    return copy.deepcopy(advisory.record)
