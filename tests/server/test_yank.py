"""Yanking: owners stop offering a version; exact downloads and pins keep working."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from fpmreg.server.accounts.models import Scope
from fpmreg.server.accounts.service import AccountsService
from fpmreg.server.clock import SystemClock
from fpmreg.server.storage import BlobStore
from tests.factories import Publisher, make_publisher, publish


def _yank_token(session: Session, publisher: Publisher) -> str:
    secret, _ = AccountsService(session, SystemClock()).create_token(
        publisher.user, name="yanker", scopes={Scope.YANK}, namespace=publisher.namespace.name
    )
    session.commit()
    return secret


def test_yanked_version_is_not_latest_but_stays_downloadable(
    client: TestClient, session: Session, store: BlobStore
) -> None:
    publisher = make_publisher(session)
    ns = publisher.namespace.name
    publish(session, store, publisher, "lib", "1.0.0")
    publish(session, store, publisher, "lib", "1.1.0")
    token = _yank_token(session, publisher)
    assert (
        client.get(f"/packages/{ns}/lib").json()["data"]["latest_version_data"]["version"]
        == "1.1.0"
    )

    response = client.put(
        f"/api/v1/packages/{ns}/lib/versions/1.1/yank",
        json={"reason": "miscompiles with gfortran 13"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["yanked"] is True

    latest = client.get(f"/packages/{ns}/lib").json()["data"]["latest_version_data"]
    assert latest["version"] == "1.0.0"
    pinned = client.get(f"/packages/{ns}/lib/1.1.0").json()["data"]["version_data"]
    assert pinned["version"] == "1.1.0" and pinned["yanked"] is True
    assert client.get(pinned["download_url"]).status_code == 200
    index = client.get(f"/api/v1/index/{ns}/lib").json()
    assert [(v["version"], v["yanked"]) for v in index["versions"]] == [
        ("1.1.0", True),
        ("1.0.0", False),
    ]
    page = client.get(f"/project/{ns}/lib/1.1.0").text
    assert "is yanked: miscompiles with gfortran 13" in page

    undone = client.delete(
        f"/api/v1/packages/{ns}/lib/versions/1.1.0/yank",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert undone.json()["yanked"] is False
    assert (
        client.get(f"/packages/{ns}/lib").json()["data"]["latest_version_data"]["version"]
        == "1.1.0"
    )


def test_yank_needs_a_reason_and_the_yank_scope(
    client: TestClient, session: Session, store: BlobStore
) -> None:
    publisher = make_publisher(session)
    ns = publisher.namespace.name
    publish(session, store, publisher, "lib", "1.0.0")
    session.commit()
    url = f"/api/v1/packages/{ns}/lib/versions/1.0.0/yank"
    refused = client.put(
        url, json={"reason": "x"}, headers={"Authorization": f"Bearer {publisher.token}"}
    )
    assert refused.status_code == 403
    assert refused.json()["errors"][0]["code"] == "token-scope"
    token = _yank_token(session, publisher)
    blank = client.put(url, json={"reason": "  "}, headers={"Authorization": f"Bearer {token}"})
    assert blank.status_code == 400
    assert blank.json()["errors"][0]["code"] == "yank-reason-missing"
    anonymous = client.put(url, json={"reason": "broken"})
    assert anonymous.status_code == 401


def test_all_versions_yanked_leaves_nothing_to_resolve_but_pins_work(
    client: TestClient, session: Session, store: BlobStore
) -> None:
    publisher = make_publisher(session)
    ns = publisher.namespace.name
    publish(session, store, publisher, "solo", "1.0.0")
    token = _yank_token(session, publisher)
    client.put(
        f"/api/v1/packages/{ns}/solo/versions/1.0.0/yank",
        json={"reason": "broken"},
        headers={"Authorization": f"Bearer {token}"},
    )
    latest = client.get(f"/packages/{ns}/solo").json()
    assert latest["code"] == 404 and "all are yanked" in latest["message"]
    assert client.get(f"/packages/{ns}/solo/1.0.0").json()["code"] == 200


def test_index_answers_304_when_unchanged(
    client: TestClient, session: Session, store: BlobStore
) -> None:
    publisher = make_publisher(session)
    ns = publisher.namespace.name
    publish(session, store, publisher, "cached", "1.0.0")
    session.commit()
    first = client.get(f"/api/v1/index/{ns}/cached")
    again = client.get(
        f"/api/v1/index/{ns}/cached", headers={"If-None-Match": first.headers["etag"]}
    )
    assert again.status_code == 304
    publish(session, store, publisher, "cached", "1.1.0")
    session.commit()
    changed = client.get(
        f"/api/v1/index/{ns}/cached", headers={"If-None-Match": first.headers["etag"]}
    )
    assert changed.status_code == 200 and len(changed.json()["versions"]) == 2


def test_index_carries_ranges_from_the_extra_table(
    client: TestClient, session: Session, store: BlobStore
) -> None:
    publisher = make_publisher(session)
    ns = publisher.namespace.name
    publish(session, store, publisher, "base", "1.2.0")
    extra = (
        f'[dependencies]\nbase = {{ namespace = "{ns}" }}\n'
        '[extra.fpmreg.dependencies]\nbase = "^1.2"\n'
    )
    publish(session, store, publisher, "top", "0.1.0", extra_manifest=extra)
    session.commit()
    (version,) = client.get(f"/api/v1/index/{ns}/top").json()["versions"]
    assert version["ranges"] == {"base": "^1.2"}
    assert version["dependencies"][0]["requirement"] == "^1.2"


def test_a_new_reason_updates_the_yank_and_unyanking_twice_says_so(
    client: TestClient, session: Session, store: BlobStore
) -> None:
    publisher = make_publisher(session)
    ns = publisher.namespace.name
    publish(session, store, publisher, "lib", "1.0.0")
    headers = {"Authorization": f"Bearer {_yank_token(session, publisher)}"}
    url = f"/api/v1/packages/{ns}/lib/versions/1.0.0/yank"
    client.put(url, json={"reason": "broken build"}, headers=headers)
    again = client.put(url, json={"reason": "miscompiles with -O3"}, headers=headers)
    assert again.json()["yank_reason"] == "miscompiles with -O3"
    assert "miscompiles with -O3" in client.get(f"/project/{ns}/lib/1.0.0").text
    assert client.delete(url, headers=headers).status_code == 200
    twice = client.delete(url, headers=headers)
    assert twice.status_code == 409
    assert twice.json()["errors"][0]["code"] == "version-not-yanked"


def test_a_missing_version_is_404_before_the_reason_is_checked(
    client: TestClient, session: Session, store: BlobStore
) -> None:
    publisher = make_publisher(session)
    ns = publisher.namespace.name
    publish(session, store, publisher, "lib", "1.0.0")
    headers = {"Authorization": f"Bearer {_yank_token(session, publisher)}"}
    missing = client.put(
        f"/api/v1/packages/{ns}/lib/versions/9.9.9/yank", json={"reason": ""}, headers=headers
    )
    assert missing.status_code == 404
    assert missing.json()["errors"][0]["code"] == "version-not-found"


def test_a_moderator_yanks_any_package_with_their_own_token(
    client: TestClient, session: Session, store: BlobStore
) -> None:
    from tests.factories import make_moderator

    publisher = make_publisher(session)
    ns = publisher.namespace.name
    publish(session, store, publisher, "lib", "1.0.0")
    moderator = make_moderator(session)
    answer = client.put(
        f"/api/v1/packages/{ns}/lib/versions/1.0.0/yank",
        json={"reason": "reported broken"},
        headers={"Authorization": f"Bearer {moderator.token}"},
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["yanked"] is True
