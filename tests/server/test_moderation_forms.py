"""The moderation forms of the package page: quarantine and release, delete a version,
delete the package (moderators and site admins), and the owners' "delete this version"
while the owners' rule allows it. CSRF on every one."""

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
from fpmreg.server.packages.models import Package
from fpmreg.server.settings import Settings
from fpmreg.server.storage import BlobStore
from tests.factories import (
    PASSWORD,
    Publisher,
    make_moderator,
    make_publisher,
    make_user,
    publish,
)
from tests.support.forms import csrf_field

QUARANTINE_FORM = 'id="quarantine-form"'
DELETE_VERSION_FORM = 'id="delete-version-form"'
DELETE_PACKAGE_FORM = 'id="delete-package-form"'


class MovableClock:
    """The app's clock, moved by the test."""

    def __init__(self) -> None:
        self.at = datetime.now(UTC).replace(microsecond=0)

    def now(self) -> datetime:
        return self.at


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock()


@pytest.fixture
def timed(
    settings: Settings, engine: Engine, sessions: sessionmaker[Session], clock: MovableClock
) -> Iterator[TestClient]:
    app = create_app(settings, database=Database(engine, sessions), clock=clock)
    with TestClient(app) as client:
        yield client


def sign_in(client: TestClient, username: str) -> None:
    answer = client.post(
        "/login",
        data={
            "csrf_token": csrf_field(client, "/login"),
            "username": username,
            "password": PASSWORD,
        },
    )
    assert answer.status_code in (200, 303), answer.text


def post_form(client: TestClient, page: str, url: str, /, **fields: str):  # type: ignore[no-untyped-def]
    """Fill a form of `page` as a browser does: its CSRF field, then the fields."""
    data = {"csrf_token": csrf_field(client, page), **fields}
    return client.post(url, data=data, follow_redirects=False)


def library(session: Session, store: BlobStore, *versions: str) -> tuple[Publisher, str]:
    owner = make_publisher(session)
    for version in versions:
        publish(session, store, owner, "lib", version)
    return owner, f"/project/{owner.namespace.name}/lib"


def quarantined(session: Session, owner: Publisher) -> bool:
    session.expire_all()
    package = session.scalar(select(Package).where(Package.namespace_id == owner.namespace.id))
    assert package is not None
    return package.quarantined_at is not None


def test_a_moderator_quarantines_from_the_package_page_and_releases_it(
    client: TestClient, session: Session, store: BlobStore
) -> None:
    owner, page = library(session, store, "1.0.0")
    moderator = make_moderator(session)
    sign_in(client, moderator.user.username)
    shown = client.get(page).text
    assert QUARANTINE_FORM in shown and DELETE_PACKAGE_FORM in shown

    answer = post_form(
        client,
        page,
        f"{page}/quarantine",
        action="quarantine",
        reason="reported: uploads ~/.ssh",
        category="malware",
    )

    assert answer.status_code == 303
    assert answer.headers["location"] == f"{page}?moderation=quarantined"
    after = client.get(answer.headers["location"]).text
    assert "The package is quarantined: nobody can install it" in after
    assert 'id="quarantine-banner"' in after
    assert "Release from quarantine" in after
    fpm = client.get(f"/packages/{owner.namespace.name}/lib").json()
    assert fpm["code"] == 403 and "under review" in fpm["message"]
    event = session.scalar(select(Event).where(Event.action == "package.quarantine"))
    assert event is not None and event.category == "malware"
    assert event.actor_id == moderator.user.id

    released = post_form(client, page, f"{page}/quarantine", action="release", reason="cleared")

    assert released.headers["location"] == f"{page}?moderation=released"
    assert "released from quarantine" in client.get(released.headers["location"]).text
    assert not quarantined(session, owner)
    assert client.get(f"/packages/{owner.namespace.name}/lib").json()["code"] == 200


def test_a_quarantine_without_a_reason_or_category_is_refused_in_the_form(
    client: TestClient, session: Session, store: BlobStore
) -> None:
    owner, page = library(session, store, "1.0.0")
    sign_in(client, make_moderator(session).user.username)

    no_reason = post_form(
        client, page, f"{page}/quarantine", action="quarantine", reason=" ", category="malware"
    )
    no_category = post_form(
        client, page, f"{page}/quarantine", action="quarantine", reason="looks odd", category=""
    )

    shown = client.get(no_reason.headers["location"]).text
    assert "Give a reason: it is kept in the audit log" in shown
    assert shown.index("Give a reason") > shown.index(QUARANTINE_FORM)
    assert "Choose a category from the list." in client.get(no_category.headers["location"]).text
    assert not quarantined(session, owner)
    # The page shows only its fixed sentences, never text from the URL.
    assert "<b>" not in client.get(f"{page}?moderation-error=<b>x&moderation=<b>").text


def test_an_owner_sees_no_moderator_forms_and_cannot_post_them(
    client: TestClient, session: Session, store: BlobStore
) -> None:
    owner, page = library(session, store, "1.0.0")
    sign_in(client, owner.user.username)
    shown = client.get(page).text
    assert QUARANTINE_FORM not in shown and DELETE_PACKAGE_FORM not in shown

    answer = post_form(
        client, page, f"{page}/quarantine", action="quarantine", reason="mine", category="other"
    )
    whole = post_form(
        client, page, f"{page}/delete", reason="mine", category="other", confirm="lib"
    )

    assert answer.status_code == 403 and "you may not quarantine" in answer.text
    assert whole.status_code == 403
    assert not quarantined(session, owner)
    assert client.get(page).status_code == 200


def test_signed_in_users_and_visitors_see_no_moderation_forms(
    client: TestClient, session: Session, store: BlobStore
) -> None:
    _, page = library(session, store, "1.0.0")
    assert 'id="moderation"' not in client.get(page).text
    sign_in(client, make_user(session).username)
    assert 'id="moderation"' not in client.get(page).text
    refused = post_form(
        client, page, f"{page}/1.0.0/delete", reason="x", category="spam", confirm="lib"
    )
    assert refused.status_code == 403
    assert client.get(f"{page}/1.0.0").status_code == 200


def test_the_forms_refuse_a_post_without_the_csrf_token(
    client: TestClient, session: Session, store: BlobStore
) -> None:
    owner, page = library(session, store, "1.0.0")
    sign_in(client, make_moderator(session).user.username)
    fields = {"reason": "spam", "category": "spam", "confirm": "lib"}

    for action in (f"{page}/quarantine", f"{page}/1.0.0/delete", f"{page}/delete"):
        answer = client.post(action, data={"action": "quarantine", **fields})
        assert answer.status_code == 403, action
        assert "the form expired or came from another site" in answer.text

    assert not quarantined(session, owner)
    assert client.get(f"{page}/1.0.0").status_code == 200


def test_a_moderator_deletes_a_version_then_the_package_leaving_tombstone_pages(
    client: TestClient, session: Session, store: BlobStore
) -> None:
    owner, page = library(session, store, "1.0.0", "1.1.0")
    sign_in(client, make_moderator(session).user.username)
    version_page = f"{page}/1.0.0"

    wrong = post_form(
        client,
        version_page,
        f"{version_page}/delete",
        reason="licence violation",
        category="copyright",
        confirm="li",
    )
    assert "Type the package name exactly" in client.get(wrong.headers["location"]).text
    assert client.get(version_page).status_code == 200

    deleted = post_form(
        client,
        version_page,
        f"{version_page}/delete",
        reason="licence violation",
        category="copyright",
        confirm="lib",
    )

    assert deleted.headers["location"] == f"{page}?moderation=version-deleted"
    assert "The version was deleted" in client.get(deleted.headers["location"]).text
    tombstone = client.get(version_page)
    assert tombstone.status_code == 410
    assert f"{owner.namespace.name}/lib@1.0.0 was deleted" in tombstone.text
    assert "copyright" in tombstone.text and "licence violation" not in tombstone.text

    whole = post_form(
        client,
        page,
        f"{page}/delete",
        reason="repeat offender",
        category="copyright",
        confirm="lib",
    )

    assert whole.headers["location"] == page
    gone = client.get(page)
    assert gone.status_code == 410
    assert "This package and every version of it was removed" in gone.text


def test_owners_see_delete_this_version_only_while_the_owners_rule_allows_it(
    timed: TestClient, session: Session, store: BlobStore, clock: MovableClock
) -> None:
    owner, page = library(session, store, "1.0.0", "1.1.0")
    dependent = make_publisher(session)
    publish(
        session,
        store,
        dependent,
        "app",
        "1.0.0",
        extra_manifest=f'[dependencies]\nlib = {{ namespace = "{owner.namespace.name}" }}\n',
    )
    sign_in(timed, owner.user.username)

    clock.at = datetime.now(UTC) + timedelta(hours=1)
    fresh = timed.get(f"{page}/1.1.0").text
    assert DELETE_VERSION_FORM in fresh and QUARANTINE_FORM not in fresh
    assert "published less than 72 hours ago" in fresh
    deleted = post_form(
        timed,
        f"{page}/1.1.0",
        f"{page}/1.1.0/delete",
        reason="published by mistake",
        category="broken",
        confirm="lib",
    )
    assert deleted.headers["location"] == f"{page}?moderation=version-deleted"
    assert timed.get(f"{page}/1.1.0").status_code == 410

    clock.at = datetime.now(UTC) + timedelta(hours=73)
    late = timed.get(f"{page}/1.0.0").text
    assert 'id="moderation"' not in late
    refused = post_form(
        timed,
        f"{page}/1.0.0",
        f"{page}/1.0.0/delete",
        reason="obsolete",
        category="other",
        confirm="lib",
    )
    shown = timed.get(refused.headers["location"]).text
    assert "Owners may delete a version only within 72 hours" in shown
    assert timed.get(f"{page}/1.0.0").status_code == 200


def test_a_site_admin_gets_the_moderator_forms(
    client: TestClient, session: Session, store: BlobStore
) -> None:
    owner, page = library(session, store, "1.0.0")
    admin = make_user(session, admin=True)
    session.commit()
    sign_in(client, admin.username)
    shown = client.get(page).text
    assert QUARANTINE_FORM in shown and DELETE_PACKAGE_FORM in shown

    answer = post_form(
        client, page, f"{page}/quarantine", action="quarantine", reason="spam", category="spam"
    )

    assert answer.headers["location"] == f"{page}?moderation=quarantined"
    assert quarantined(session, owner)
