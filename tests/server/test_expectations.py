"""Expectations set by a package's owners (docs/expectations.md): declared on `/api/v1`
and the package page, refused when malformed or not the owners', audited, and signed into
the transparency log without who made the change."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from fpmreg.core.integrity import parse_multikey, verify_proof
from fpmreg.server.accounts.models import Scope
from fpmreg.server.events import Event
from fpmreg.server.storage import BlobStore
from tests.factories import (
    PASSWORD,
    make_moderator,
    make_owner_token,
    make_publisher,
    publish,
)
from tests.support.forms import csrf_field

GOOD = {
    "status": "looking-for-maintainers",
    "contact": "security@example.org",
    "response": "best-effort",
    "supported": ">=2.0",
    "note": "Reports by email, please.",
}


def _package(session: Session, store: BlobStore) -> tuple[str, str]:
    owner = make_publisher(session)
    publish(session, store, owner, "lib", "2.1.0")
    return owner.namespace.name, make_owner_token(session, owner)


def _put(client: TestClient, ns: str, token: str, body: dict[str, str]) -> object:
    return client.put(
        f"/api/v1/packages/{ns}/lib/expectations",
        json=body,
        headers={"Authorization": f"Bearer {token}"},
    )


def test_owners_declare_expectations_and_everyone_reads_them(
    client: TestClient, session: Session, store: BlobStore
) -> None:
    ns, token = _package(session, store)
    before = client.get(f"/api/v1/packages/{ns}/lib/expectations")
    assert before.status_code == 200 and "expectations" not in before.json()
    assert "expectations" not in client.get(f"/api/v1/packages/{ns}/lib").json()

    answer = _put(client, ns, token, GOOD)
    assert answer.status_code == 200, answer.text  # type: ignore[attr-defined]
    declared = answer.json()["expectations"]  # type: ignore[attr-defined]
    assert declared["status"] == "looking-for-maintainers"
    assert declared["status_label"] == "Looking for maintainers"
    assert declared["supported"] == ">=2.0"
    assert declared["contact"] == "security@example.org"

    read = client.get(f"/api/v1/packages/{ns}/lib/expectations").json()["expectations"]
    assert read == declared
    assert client.get(f"/api/v1/packages/{ns}/lib").json()["expectations"] == declared

    page = client.get(f"/project/{ns}/lib").text
    assert 'id="expectations-notice"' in page and "Looking for maintainers" in page
    assert 'href="mailto:security@example.org"' in page
    assert "&gt;=2.0" in page and "Reports by email, please." in page
    assert 'id="expectations-form"' not in page  # not signed in: no form

    calm = _put(client, ns, token, {**GOOD, "status": "active", "contact": "https://x.org/sec"})
    assert calm.status_code == 200  # type: ignore[attr-defined]
    page = client.get(f"/project/{ns}/lib").text
    assert "Actively maintained" in page and 'id="expectations-notice"' not in page
    assert 'href="https://x.org/sec"' in page


def test_bad_values_are_refused_with_422_naming_the_field(
    client: TestClient, session: Session, store: BlobStore
) -> None:
    ns, token = _package(session, store)
    cases = {
        "status": {**GOOD, "status": "abandoned"},
        "response": {**GOOD, "response": "maybe"},
        "contact": {**GOOD, "contact": "http://insecure.example.org/report"},
        "supported": {**GOOD, "supported": "2.x"},
    }
    for field, body in cases.items():
        answer = _put(client, ns, token, body)
        assert answer.status_code == 422, (field, answer.text)  # type: ignore[attr-defined]
        (error,) = answer.json()["errors"]  # type: ignore[attr-defined]
        assert error["field"] == field, error
        assert error["code"] == f"expectations-{field}-invalid"
    missing = _put(client, ns, token, {**GOOD, "contact": ""})
    assert missing.status_code == 422  # type: ignore[attr-defined]
    assert missing.json()["errors"][0]["code"] == "expectations-contact-missing"  # type: ignore[attr-defined]
    no_contact_needed = _put(client, ns, token, {**GOOD, "contact": "", "response": "no"})
    assert no_contact_needed.status_code == 200  # type: ignore[attr-defined]
    too_long = _put(client, ns, token, {**GOOD, "note": "x" * 501})
    assert too_long.status_code == 422  # type: ignore[attr-defined]
    assert too_long.json()["errors"][0]["field"] == "note"  # type: ignore[attr-defined]
    not_email = _put(client, ns, token, {**GOOD, "contact": "security at example"})
    assert not_email.json()["errors"][0]["field"] == "contact"  # type: ignore[attr-defined]


def test_only_owners_with_a_manage_token_declare(
    client: TestClient, session: Session, store: BlobStore
) -> None:
    ns, _token = _package(session, store)
    url = f"/api/v1/packages/{ns}/lib/expectations"
    anonymous = client.put(url, json=GOOD)
    assert anonymous.status_code == 401
    assert anonymous.json()["errors"][0]["code"] == "token-missing"

    stranger = make_publisher(session)
    other = make_owner_token(session, stranger)
    refused = client.put(url, json=GOOD, headers={"Authorization": f"Bearer {other}"})
    assert refused.status_code == 403
    assert refused.json()["errors"][0]["code"] == "token-namespace"

    moderator = make_moderator(session)
    staff = client.put(url, json=GOOD, headers={"Authorization": f"Bearer {moderator.token}"})
    assert staff.status_code == 403
    assert staff.json()["errors"][0]["code"] == "not-an-owner"

    ghost = client.put(
        f"/api/v1/packages/{ns}/ghost/expectations",
        json=GOOD,
        headers={"Authorization": f"Bearer {_token}"},
    )
    assert ghost.status_code == 404
    assert client.get(f"/api/v1/packages/{ns}/ghost/expectations").status_code == 404
    assert "expectations" not in client.get(url).json()


def test_a_publish_only_token_is_refused(
    client: TestClient, session: Session, store: BlobStore
) -> None:
    owner = make_publisher(session)
    publish(session, store, owner, "lib", "1.0.0")
    yank_only = make_owner_token(session, owner, Scope.YANK)
    answer = _put(client, owner.namespace.name, yank_only, GOOD)
    assert answer.status_code == 403, answer.text  # type: ignore[attr-defined]


def test_every_change_is_audited_and_signed_into_the_log_without_who(
    client: TestClient, session: Session, store: BlobStore
) -> None:
    ns, token = _package(session, store)
    assert _put(client, ns, token, GOOD).status_code == 200  # type: ignore[attr-defined]
    session.expire_all()
    event = session.scalar(select(Event).where(Event.action == "package.expectations"))
    assert event is not None and event.actor_id is not None
    assert event.subject == f"package:{ns}/lib"

    found = client.get("/api/v1/log/entries", params={"subject": f"pkg:fpm/{ns}/lib"}).json()
    entry = client.get(f"/api/v1/log/entries/{found['indexes'][-1]}").json()
    record = entry["record"]
    assert record["action"] == "package.expectations"
    assert record["expectations"] == {
        "status": "looking-for-maintainers",
        "contact": "security@example.org",
        "response": "best-effort",
        "supported": ">=2.0",
    }
    text = str(record)
    owner_name = client.get(f"/api/v1/packages/{ns}/lib").json()["versions"][0]["publisher"]
    assert owner_name not in text and "Reports by email" not in text
    keys = client.get("/log/keys").json()["keys"]
    (key,) = [k for k in keys if k["id"] == record["proof"]["verificationMethod"]]
    verify_proof(record, parse_multikey(key["publicKeyMultibase"]))


def test_a_signed_in_owner_declares_from_the_package_page(
    client: TestClient, session: Session, store: BlobStore
) -> None:
    owner = make_publisher(session)
    ns = owner.namespace.name
    publish(session, store, owner, "lib", "1.0.0")
    login = client.post(
        "/login",
        data={
            "csrf_token": csrf_field(client, "/login"),
            "username": owner.user.username,
            "password": PASSWORD,
        },
    )
    assert login.status_code in (200, 303)
    page = client.get(f"/project/{ns}/lib").text
    assert 'id="expectations-form"' in page and 'name="csrf_token"' in page
    fields = {
        "csrf_token": csrf_field(client, f"/project/{ns}/lib"),
        "status": "unmaintained",
        "response": "no",
        "contact": "",
        "supported": "",
        "note": "",
    }
    saved = client.post(f"/project/{ns}/lib/expectations", data=fields)
    assert saved.status_code == 200, saved.text  # followed the redirect back
    assert 'id="expectations-notice"' in saved.text and "Unmaintained" in saved.text
    assert "The expectations are saved." in saved.text

    bad = {**fields, "csrf_token": csrf_field(client, f"/project/{ns}/lib"), "supported": "1.*"}
    refused = client.post(f"/project/{ns}/lib/expectations", data=bad)
    assert 'id="expectations-error"' in refused.text and "version requirement" in refused.text
    assert (
        client.get(f"/api/v1/packages/{ns}/lib/expectations").json()["expectations"]["status"]
        == "unmaintained"
    )

    no_csrf = client.post(f"/project/{ns}/lib/expectations", data={"status": "active"})
    assert no_csrf.status_code == 403
