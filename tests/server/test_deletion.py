"""Hard delete: moderators any time, owners within crates.io's rule; tombstones forever."""

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
from fpmreg.server.settings import Settings
from fpmreg.server.storage import BlobStore
from tests.factories import make_moderator, make_owner_token, make_publisher, publish
from tests.support.tarballs import package_tarball

MALWARE = {"reason": "steals tokens from CI (see ticket 12)", "category": "malware"}


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


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _delete(client: TestClient, url: str, token: str, body: dict[str, str] = MALWARE):  # type: ignore[no-untyped-def]
    return client.request("DELETE", url, json=body, headers=_bearer(token))


def test_a_moderator_deletes_a_version_its_blob_goes_and_a_tombstone_stays(
    client: TestClient, session: Session, store: BlobStore
) -> None:
    owner = make_publisher(session)
    ns = owner.namespace.name
    publish(session, store, owner, "lib", "1.0.0")
    result = publish(session, store, owner, "lib", "1.1.0")
    moderator = make_moderator(session)
    assert store.exists(result.sha256)

    answer = _delete(client, f"/api/v1/packages/{ns}/lib/versions/1.1.0", moderator.token)
    assert answer.status_code == 200, answer.text
    assert answer.json()["category"] == "malware"
    assert answer.json()["url"].endswith(f"/project/{ns}/lib/1.1.0")
    assert not store.exists(result.sha256)  # removed once the request committed

    latest = client.get(f"/packages/{ns}/lib").json()["data"]["latest_version_data"]
    assert latest["version"] == "1.0.0"
    pinned = client.get(f"/packages/{ns}/lib/1.1.0")
    assert pinned.status_code == 410
    assert pinned.json()["code"] == 410
    assert "was deleted from the registry on" in pinned.json()["message"]
    assert "(malware)" in pinned.json()["message"]
    assert client.get(f"/tarballs/{ns}/lib/1.1.0.tar.gz").status_code == 410

    page = client.get(f"/project/{ns}/lib/1.1.0")
    assert page.status_code == 410
    assert "was deleted" in page.text and "malware" in page.text
    assert "steals tokens" not in page.text  # never the reason

    index = client.get(f"/api/v1/index/{ns}/lib").json()
    assert [t["version"] for t in index["tombstones"]] == ["1.1.0"]
    event = session.scalar(select(Event).where(Event.action == "version.delete"))
    assert event is not None and event.category == "malware"
    assert event.subject == f"package:{ns}/lib@1.1.0"


def test_a_deleted_version_can_never_be_published_again(
    client: TestClient, session: Session, store: BlobStore
) -> None:
    owner = make_publisher(session)
    ns = owner.namespace.name
    publish(session, store, owner, "lib", "1.0.0")
    publish(session, store, owner, "lib", "2.0.0")
    _delete(client, f"/api/v1/packages/{ns}/lib/versions/2.0.0", make_moderator(session).token)

    again = client.post(
        "/api/v1/packages",
        files={"tarball": ("lib.tar.gz", package_tarball("lib", "2.0.0"), "application/gzip")},
        headers=_bearer(owner.token),
    )
    assert again.status_code == 409
    problem = again.json()["errors"][0]
    assert problem["code"] == "version-tombstoned"
    assert f"/project/{ns}/lib/2.0.0" in problem["detail"]


def test_deleting_a_package_holds_its_name(
    client: TestClient, session: Session, store: BlobStore
) -> None:
    owner = make_publisher(session)
    ns = owner.namespace.name
    result = publish(session, store, owner, "lib", "1.0.0")
    answer = client.request(
        "DELETE",
        f"/api/v1/packages/{ns}/lib",
        json=MALWARE,
        headers=_bearer(make_moderator(session).token),
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["name_held_until"] > answer.json()["deleted_at"]
    assert not store.exists(result.sha256)
    assert client.get(f"/project/{ns}/lib").status_code == 410
    assert client.get(f"/packages/{ns}/lib").json()["code"] == 410
    assert client.get(f"/api/v1/index/{ns}/lib").json()["errors"][0]["code"] == "package-deleted"

    fresh = client.post(
        "/api/v1/packages",
        files={"tarball": ("lib.tar.gz", package_tarball("lib", "3.0.0"), "application/gzip")},
        headers=_bearer(owner.token),
    )
    assert fresh.status_code == 409
    assert fresh.json()["errors"][0]["code"] == "name-held"


def test_a_look_alike_of_a_deleted_package_is_held_too(
    client: TestClient, session: Session, store: BlobStore
) -> None:
    owner = make_publisher(session)
    ns = owner.namespace.name
    publish(session, store, owner, "toolbox", "1.0.0")
    deleted = client.request(
        "DELETE",
        f"/api/v1/packages/{ns}/toolbox",
        json=MALWARE,
        headers=_bearer(make_moderator(session).token),
    )
    assert deleted.status_code == 200, deleted.text
    for look_alike in ("tooIbox", "t00lbox"):
        tarball = package_tarball(look_alike, "1.0.0")
        answer = client.post(
            "/api/v1/packages",
            files={"tarball": (f"{look_alike}.tar.gz", tarball, "application/gzip")},
            headers=_bearer(owner.token),
        )
        assert answer.status_code == 409, answer.text
        problem = answer.json()["errors"][0]
        assert problem["code"] == "name-held"
        assert f"`{look_alike}` is too close to the name `{ns}/toolbox`" in problem["detail"]
    distinct = client.post(
        "/api/v1/packages",
        files={
            "tarball": ("spanner.tar.gz", package_tarball("spanner", "1.0.0"), "application/gzip")
        },
        headers=_bearer(owner.token),
    )
    assert distinct.status_code == 201, distinct.text


def test_owners_may_delete_within_72_hours_and_not_after_once_it_is_used(
    timed: TestClient, session: Session, store: BlobStore, clock: MovableClock
) -> None:
    owner = make_publisher(session)
    ns = owner.namespace.name
    publish(session, store, owner, "lib", "1.0.0")
    publish(session, store, owner, "lib", "1.1.0")
    user = make_publisher(session)
    publish(
        session,
        store,
        user,
        "app",
        "1.0.0",
        extra_manifest=f'[dependencies]\nlib = {{ namespace = "{ns}" }}\n',
    )
    manage = make_owner_token(session, owner)
    broken = {"reason": "published by mistake", "category": "broken"}

    clock.at = datetime.now(UTC) + timedelta(hours=1)
    fresh = _delete(timed, f"/api/v1/packages/{ns}/lib/versions/1.1.0", manage, broken)
    assert fresh.status_code == 200, fresh.text

    clock.at = datetime.now(UTC) + timedelta(hours=73)
    late = _delete(timed, f"/api/v1/packages/{ns}/lib/versions/1.0.0", manage, broken)
    assert late.status_code == 403
    problem = late.json()["errors"][0]
    assert problem["code"] == "owner-delete-refused"
    assert "depend on it" in problem["detail"]


def test_owners_may_delete_an_unused_old_version(
    timed: TestClient, session: Session, store: BlobStore, clock: MovableClock
) -> None:
    owner = make_publisher(session)
    ns = owner.namespace.name
    publish(session, store, owner, "lib", "1.0.0")
    manage = make_owner_token(session, owner)
    clock.at = datetime.now(UTC) + timedelta(days=30)
    answer = _delete(
        timed,
        f"/api/v1/packages/{ns}/lib/versions/1.0.0",
        manage,
        {"reason": "obsolete", "category": "other"},
    )
    assert answer.status_code == 200, answer.text


def test_strangers_may_not_delete_and_a_reason_and_category_are_required(
    client: TestClient, session: Session, store: BlobStore
) -> None:
    owner = make_publisher(session)
    ns = owner.namespace.name
    publish(session, store, owner, "lib", "1.0.0")
    stranger = make_owner_token(session, make_publisher(session))
    refused = _delete(client, f"/api/v1/packages/{ns}/lib/versions/1.0.0", stranger)
    assert refused.status_code == 403
    assert refused.json()["errors"][0]["code"] == "token-namespace"
    moderator = make_moderator(session).token
    blank = _delete(
        client,
        f"/api/v1/packages/{ns}/lib/versions/1.0.0",
        moderator,
        {"reason": "  ", "category": "malware"},
    )
    assert blank.json()["errors"][0]["code"] == "reason-missing"
    odd = _delete(
        client,
        f"/api/v1/packages/{ns}/lib/versions/1.0.0",
        moderator,
        {"reason": "x", "category": "boredom"},
    )
    assert odd.json()["errors"][0]["code"] == "category-invalid"
    assert client.get(f"/packages/{ns}/lib/1.0.0").json()["code"] == 200
