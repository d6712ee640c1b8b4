"""Deprecation: a banner naming the replacement, carried by every API so clients warn."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from fpmreg.server.events import Event
from fpmreg.server.storage import BlobStore
from tests.factories import PASSWORD, make_owner_token, make_publisher, publish
from tests.support.forms import csrf_field


def test_owners_deprecate_naming_a_replacement_and_everyone_sees_it(
    client: TestClient, session: Session, store: BlobStore
) -> None:
    owner = make_publisher(session)
    ns = owner.namespace.name
    publish(session, store, owner, "old", "1.0.0")
    publish(session, store, owner, "new", "1.0.0")
    token = make_owner_token(session, owner)
    answer = client.put(
        f"/api/v1/packages/{ns}/old/deprecation",
        json={"message": "unmaintained", "replacement": f"{ns}/new"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["replacement"] == f"{ns}/new"

    for url in (f"/project/{ns}/old", f"/project/{ns}/old/1.0.0"):
        page = client.get(url).text
        assert "Deprecated:" in page and f'href="/project/{ns}/new"' in page
    assert client.get(f"/api/v1/packages/{ns}/old").json()["replacement"] == f"{ns}/new"
    fpm = client.get(f"/packages/{ns}/old").json()["data"]
    assert fpm["deprecated"] is True and fpm["deprecation_message"] == "unmaintained"
    index = client.get(f"/api/v1/index/{ns}/old").json()
    assert index["deprecated"] is True and index["replacement"] == f"{ns}/new"
    assert session.scalar(select(Event).where(Event.action == "package.deprecate"))

    removed = client.delete(
        f"/api/v1/packages/{ns}/old/deprecation", headers={"Authorization": f"Bearer {token}"}
    )
    assert removed.json()["deprecated"] is False
    assert "Deprecated:" not in client.get(f"/project/{ns}/old").text
    twice = client.delete(
        f"/api/v1/packages/{ns}/old/deprecation", headers={"Authorization": f"Bearer {token}"}
    )
    assert twice.status_code == 409


def test_the_replacement_must_exist_and_not_be_the_package_itself(
    client: TestClient, session: Session, store: BlobStore
) -> None:
    owner = make_publisher(session)
    ns = owner.namespace.name
    publish(session, store, owner, "old", "1.0.0")
    headers = {"Authorization": f"Bearer {make_owner_token(session, owner)}"}
    url = f"/api/v1/packages/{ns}/old/deprecation"
    ghost = client.put(url, json={"message": "x", "replacement": "no/such"}, headers=headers)
    assert ghost.json()["errors"][0]["code"] == "replacement-not-found"
    itself = client.put(url, json={"message": "x", "replacement": f"{ns}/old"}, headers=headers)
    assert itself.json()["errors"][0]["code"] == "replacement-is-itself"


def test_a_signed_in_owner_deprecates_from_the_package_page(
    client: TestClient, session: Session, store: BlobStore
) -> None:
    owner = make_publisher(session)
    ns = owner.namespace.name
    publish(session, store, owner, "old", "1.0.0")
    login = client.post(
        "/login",
        data={
            "csrf_token": csrf_field(client, "/login"),
            "username": owner.user.username,
            "password": PASSWORD,
        },
    )
    assert login.status_code in (200, 303)
    form = client.post(
        f"/project/{ns}/old/deprecation",
        data={
            "csrf_token": csrf_field(client, f"/project/{ns}/old"),
            "message": "use something else",
            "action": "deprecate",
        },
    )
    assert form.status_code in (200, 303), form.text
    assert "use something else" in client.get(f"/project/{ns}/old").text
    no_csrf = client.post(f"/project/{ns}/old/deprecation", data={"action": "undeprecate"})
    assert no_csrf.status_code == 403
