"""Expectations set by a package's owners: its maintenance status and how security
reports are handled (docs/expectations.md).

Stored one row per package; every change is audited as `package.expectations`, whose
public part (status, contact, response, supported versions) the transparency log signs.
Permission is the caller's: only the package's owners declare them.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from fpmreg.core.expectations import (
    STATUSES,
    check_contact,
    check_note,
    check_supported,
    expectation_problems,
)
from fpmreg.core.wire.expectations import Expectations, ExpectationsRequest
from fpmreg.server.clock import Clock
from fpmreg.server.errors import DomainError
from fpmreg.server.events import record_event
from fpmreg.server.packages.models import Package, PackageExpectations

ACTION = "package.expectations"


def expectations_of(session: Session, package: Package) -> PackageExpectations | None:
    """The package's declared expectations, or None."""
    return session.scalar(
        select(PackageExpectations).where(PackageExpectations.package_id == package.id)
    )


def expectations_wire(row: PackageExpectations | None) -> Expectations | None:
    """The `/api/v1` shape of `row` (None when nothing is declared)."""
    if row is None:
        return None
    return Expectations(
        status=row.status,
        status_label=STATUSES.get(row.status, row.status),
        response=row.response,
        contact=row.contact,
        supported=row.supported,
        note=row.note,
        updated_at=row.updated_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
    )


class InvalidExpectations(DomainError):
    """A declaration with a value the registry does not take (422, naming the field)."""

    status = 422


class ExpectationsService:
    """Declare a package's expectations, in the caller's transaction."""

    def __init__(self, session: Session, clock: Clock) -> None:
        self.session = session
        self.clock = clock

    def declare(
        self, actor_id: int | None, package: Package, request: ExpectationsRequest
    ) -> PackageExpectations:
        """Set (or replace) what `package`'s owners declare. Audited and logged."""
        problems = expectation_problems(
            request.status, request.contact, request.response, request.supported, request.note
        )
        if problems:
            raise InvalidExpectations.of(problems)
        row = expectations_of(self.session, package)
        if row is None:
            row = PackageExpectations(package_id=package.id)
            self.session.add(row)
        row.status = request.status
        row.response = request.response
        row.contact = check_contact(request.contact)
        row.supported = check_supported(request.supported)
        row.note = check_note(request.note)
        row.updated_at = self.clock.now()
        public = {
            "status": row.status,
            "contact": row.contact,
            "response": row.response,
            "supported": row.supported,
        }
        record_event(
            self.session,
            at=row.updated_at,
            actor_id=actor_id,
            action=ACTION,
            subject=f"package:{package.namespace.name}/{package.name}",
            data={"expectations": public, "note": row.note},
        )
        self.session.flush()
        return row
