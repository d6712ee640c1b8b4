"""The automatic quarantine rule on the real app, with a clock the test moves."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from fpmreg.server.app import create_app
from fpmreg.server.db import Database
from fpmreg.server.events import Event
from fpmreg.server.moderation.models import Notification
from fpmreg.server.packages.models import Package
from fpmreg.server.settings import Settings
from fpmreg.server.storage import BlobStore
from tests.factories import (
    Publisher,
    make_publisher,
    make_reports_trusted,
    publish,
    reports_bearer,
)


class MovableClock:
    """The app's clock; the test sets it."""

    def __init__(self) -> None:
        self.at = datetime.now(UTC)

    def now(self) -> datetime:
        return self.at


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock()


@pytest.fixture
def timed_client(
    settings: Settings, engine: Engine, sessions: sessionmaker[Session], clock: MovableClock
) -> Iterator[TestClient]:
    app = create_app(settings, database=Database(engine, sessions), clock=clock)
    with TestClient(app) as client:
        yield client


def _published(session: Session, store: BlobStore) -> tuple[Publisher, Package]:
    owner = make_publisher(session)
    publish(session, store, owner, "lib", "1.0.0")
    package = session.scalars(select(Package).where(Package.namespace_id == owner.namespace.id))
    return owner, package.one()


def _malware(client: TestClient, package: Package, who: Publisher) -> None:
    response = client.post(
        f"/api/v1/packages/{package.namespace.name}/lib/reports",
        json={"category": "malware", "message": "steals ~/.ssh in a build hook"},
        headers=reports_bearer(who),
    )
    assert response.status_code == 201, response.text


def _quarantined(client: TestClient, session: Session, package: Package) -> bool:
    session.expire_all()
    fpm = client.get(f"/packages/{package.namespace.name}/lib")
    row = session.get(Package, package.id)
    assert row is not None
    assert (fpm.status_code != 200) == (row.quarantined_at is not None)
    return row.quarantined_at is not None


def test_two_trusted_reporters_quarantine_an_old_package(
    timed_client: TestClient, session: Session, store: BlobStore, clock: MovableClock
) -> None:
    owner, package = _published(session, store)
    clock.at = package.created_at + timedelta(days=30)
    _malware(timed_client, package, make_reports_trusted(session))
    assert not _quarantined(timed_client, session, package)

    _malware(timed_client, package, make_reports_trusted(session))

    assert _quarantined(timed_client, session, package)
    assert "under review" in timed_client.get(f"/packages/{package.namespace.name}/lib").text
    event = session.scalars(select(Event).where(Event.action == "package.quarantine")).all()[-1]
    assert event.actor_id is None and event.category == "malware"
    assert "2 trusted reporters" in event.reason
    told = session.scalars(select(Notification).where(Notification.user_id == owner.user.id))
    assert [n.kind for n in told] == ["package.quarantined"]


def test_one_trusted_report_on_an_old_package_is_not_enough(
    timed_client: TestClient, session: Session, store: BlobStore, clock: MovableClock
) -> None:
    _, package = _published(session, store)
    clock.at = package.created_at + timedelta(days=2)
    _malware(timed_client, package, make_reports_trusted(session))
    _malware(timed_client, package, make_publisher(session))  # untrusted
    assert not _quarantined(timed_client, session, package)


def test_the_same_trusted_reporter_twice_is_not_two(
    timed_client: TestClient, session: Session, store: BlobStore, clock: MovableClock
) -> None:
    owner, package = _published(session, store)
    publish(session, store, owner, "lib", "1.1.0")
    clock.at = package.created_at + timedelta(days=2)
    trusted = make_reports_trusted(session)
    _malware(timed_client, package, trusted)  # the package
    response = timed_client.post(  # and one version: another subject, the same reporter
        f"/api/v1/packages/{package.namespace.name}/lib/reports",
        json={"category": "malware", "message": "and here", "version": "1.1.0"},
        headers=reports_bearer(trusted),
    )
    assert response.status_code == 201
    assert not _quarantined(timed_client, session, package)


@pytest.mark.parametrize(
    ("age", "expected"),
    [(timedelta(hours=23, minutes=59), True), (timedelta(hours=24, minutes=1), False)],
)
def test_one_report_from_anyone_on_a_new_package(
    timed_client: TestClient,
    session: Session,
    store: BlobStore,
    clock: MovableClock,
    age: timedelta,
    expected: bool,
) -> None:
    _, package = _published(session, store)
    clock.at = package.created_at + age
    _malware(timed_client, package, make_publisher(session))
    assert _quarantined(timed_client, session, package) is expected


def test_other_categories_never_quarantine(
    timed_client: TestClient, session: Session, store: BlobStore, clock: MovableClock
) -> None:
    _, package = _published(session, store)
    clock.at = package.created_at + timedelta(minutes=5)
    response = timed_client.post(
        f"/api/v1/packages/{package.namespace.name}/lib/reports",
        json={"category": "spam", "message": "an advert"},
        headers=reports_bearer(make_publisher(session)),
    )
    assert response.status_code == 201
    assert not _quarantined(timed_client, session, package)
