"""Organisations (docs/organisations.md): created with a manage token, managed by their
admins, served as an ActivityPub `Organization` and as a page; their endorsements are
signed documents in the transparency log, revoked with a logged tombstone; and an audit
names the organisations that endorse its auditor, who is their member."""

from __future__ import annotations

import hashlib
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from fpmreg.core.integrity import parse_multikey, verify_proof
from fpmreg.server.storage import BlobStore
from tests.factories import make_owner_token, make_publisher, publish

ORGS = "/api/v1/organisations"
BASE = "http://testserver"


def _user(session: Session) -> tuple[str, dict[str, str]]:
    someone = make_publisher(session)
    token = make_owner_token(session, someone)
    return someone.user.username, {"Authorization": f"Bearer {token}"}


def _verified(client: TestClient, log_index: int, body_bytes: bytes) -> dict[str, Any]:
    """The log record at `log_index`, checked: its proof verifies under the registry's
    published key, and it signs the sha256 of `body_bytes`."""
    record: dict[str, Any] = client.get(f"/api/v1/log/entries/{log_index}").json()["record"]
    keys = client.get("/log/keys").json()["keys"]
    (key,) = [k for k in keys if k["id"] == record["proof"]["verificationMethod"]]
    verify_proof(record, parse_multikey(key["publicKeyMultibase"]))
    assert record["sha256"] == hashlib.sha256(body_bytes).hexdigest()
    return record


def test_an_admin_endorses_a_signed_logged_document_and_revokes_it_with_a_tombstone(
    client: TestClient, session: Session
) -> None:
    admin_name, admin = _user(session)
    member_name, member = _user(session)
    made = client.post(ORGS, headers=admin, json={"name": "acme", "title": "Acme Numerics"})
    assert made.status_code == 201, made.text
    assert made.json()["uri"] == f"{BASE}/orgs/acme"
    assert made.json()["members"][0] == {
        **made.json()["members"][0],
        "username": admin_name,
        "role": "admin",
    }
    added = client.put(
        f"{ORGS}/acme/members", headers=admin, json={"username": member_name, "role": "member"}
    )
    assert added.status_code == 200 and len(added.json()["members"]) == 2

    subject = f"{BASE}/ap/users/{member_name}"
    body = {"subject": subject, "kind": "auditor", "reason": "our reviewer"}
    refused = client.post(f"{ORGS}/acme/endorsements", headers=member, json=body)
    assert refused.status_code == 403 and refused.json()["errors"][0]["code"] == "not-an-org-admin"
    stranger = client.put(
        f"{ORGS}/acme/members", headers=member, json={"username": member_name, "role": "admin"}
    )
    assert stranger.status_code == 403
    assert stranger.json()["errors"][0]["code"] == "not-an-org-admin"

    endorsed = client.post(f"{ORGS}/acme/endorsements", headers=admin, json=body)
    assert endorsed.status_code == 201, endorsed.text
    e = endorsed.json()
    assert e["body"]["issuer"] == f"{BASE}/orgs/acme" and e["body"]["subject"] == subject
    again = client.post(f"{ORGS}/acme/endorsements", headers=admin, json=body)
    assert again.status_code == 409 and again.json()["errors"][0]["code"] == "endorsement-exists"
    served = client.get(e["uri"].removeprefix(BASE))
    assert served.status_code == 200 and served.json() == e["body"]
    listed = client.get(f"{ORGS}/acme").json()["endorsements"]
    record = _verified(client, listed[0]["log_index"], served.content)
    assert record["action"] == "org.endorse" and record["subject"] == e["uri"]
    assert record["organisation"] == f"{BASE}/orgs/acme"

    revoke_url = f"{ORGS}/acme/endorsements/{e['id']}/revoke"
    not_admin = client.post(revoke_url, headers=member, json={"reason": "x"})
    assert not_admin.status_code == 403
    revoked = client.post(revoke_url, headers=admin, json={"reason": "left the team"})
    assert revoked.status_code == 200 and revoked.json()["revoke_reason"] == "left the team"
    tomb = client.get(e["uri"].removeprefix(BASE))
    assert tomb.status_code == 410 and tomb.json()["type"] == "Tombstone"
    assert tomb.json()["reason"] == "left the team" and tomb.json()["sha256"] == e["sha256"]
    index = client.get(f"{ORGS}/acme").json()["endorsements"][0]["log_index"]
    tombstone = _verified(client, index, served.content)  # the same digest, now revoked
    assert tombstone["action"] == "org.endorse-revoke" and tombstone["reason"] == "left the team"
    twice = client.post(revoke_url, headers=admin, json={"reason": "again"})
    assert twice.status_code == 409 and twice.json()["errors"][0]["code"] == "endorsement-revoked"
    page = client.get("/orgs/acme").text
    assert "revoked" in page and "left the team" in page and member_name in page


def test_the_organisation_is_an_activitypub_organization_and_a_page(
    client: TestClient, session: Session
) -> None:
    _, admin = _user(session)
    client.post(
        ORGS,
        headers=admin,
        json={"name": "acme", "title": "Acme Numerics", "summary": "We fund reviews."},
    )
    actor = client.get("/orgs/acme", headers={"Accept": "application/activity+json"})
    assert actor.status_code == 200
    assert actor.headers["content-type"].startswith("application/activity+json")
    doc = actor.json()
    assert doc["type"] == "Organization" and doc["id"] == f"{BASE}/orgs/acme"
    assert doc["preferredUsername"] == "acme" and doc["name"] == "Acme Numerics"
    assert doc["publicKey"]["owner"] == doc["id"]
    assert doc["assertionMethod"][0]["type"] == "Multikey"
    assert doc["inbox"] == f"{BASE}/ap/inbox"
    outbox = client.get(doc["outbox"].removeprefix(BASE)).json()
    assert outbox["type"] == "OrderedCollection" and outbox["totalItems"] == 0
    page = client.get("/orgs/acme", headers={"Accept": "text/html"})
    assert page.headers["content-type"].startswith("text/html") and "We fund reviews." in page.text
    assert "acme" in client.get("/orgs/").text
    missing = client.get("/orgs/nobody", headers={"Accept": "application/activity+json"})
    assert missing.status_code == 404


def test_bad_requests_name_what_to_fix(client: TestClient, session: Session) -> None:
    _, admin = _user(session)
    assert client.post(ORGS, json={"name": "acme", "title": "A"}).status_code == 401
    client.post(ORGS, headers=admin, json={"name": "acme", "title": "A"})
    taken = client.post(ORGS, headers=admin, json={"name": "acme", "title": "A"})
    assert taken.status_code == 409 and taken.json()["errors"][0]["code"] == "organisation-exists"
    bad = [
        ({"subject": "not a uri", "kind": "policy"}, 422),
        ({"subject": f"{BASE}/ap/users/nobody-here", "kind": "auditor"}, 422),
        ({"subject": f"{BASE}/c/none", "kind": "community"}, 422),
        ({"subject": "https://other.example/c/x", "kind": "friend"}, 422),
    ]
    for body, status in bad:
        answer = client.post(f"{ORGS}/acme/endorsements", headers=admin, json=body)
        assert answer.status_code == status, (body, answer.text)
        assert answer.json()["errors"][0]["code"]
    last = client.get(f"{ORGS}/acme").json()["members"][0]["username"]
    down = client.put(
        f"{ORGS}/acme/members", headers=admin, json={"username": last, "role": "member"}
    )
    assert down.status_code == 409 and down.json()["errors"][0]["code"] == "last-admin"
    remote = client.post(
        f"{ORGS}/acme/endorsements",
        headers=admin,
        json={"subject": "https://other.example/c/x", "kind": "community"},
    )
    assert remote.status_code == 201  # another registry's community: taken as named


def test_an_audit_names_the_organisations_that_endorse_their_member_as_auditor(
    client: TestClient, session: Session, store: BlobStore
) -> None:
    _, founder = _user(session)
    endorsed_name, endorsed = _user(session)
    plain_name, plain = _user(session)
    outsider_name, _ = _user(session)
    client.post("/api/v1/communities", headers=founder, json={"name": "fortran", "title": "F"})
    client.put(
        "/api/v1/communities/fortran/criteria/safe-to-run",
        headers=founder,
        json={"description": "runs"},
    )
    client.post(ORGS, headers=founder, json={"name": "acme", "title": "Acme"})
    for name in (endorsed_name, plain_name):
        client.put(
            f"{ORGS}/acme/members", headers=founder, json={"username": name, "role": "member"}
        )
    for name in (endorsed_name, outsider_name):  # the outsider is endorsed, not a member
        client.post(
            f"{ORGS}/acme/endorsements",
            headers=founder,
            json={"subject": f"{BASE}/ap/users/{name}", "kind": "auditor"},
        )
    owner = make_publisher(session)
    publish(session, store, owner, "lib", "1.0.0")
    audit = {
        "package": f"{owner.namespace.name}/lib",
        "version": "1.0.0",
        "criteria": ["safe-to-run"],
    }
    url = "/api/v1/communities/fortran/audits"
    by_endorsed = client.post(url, headers=endorsed, json=audit).json()["body"]
    assert by_endorsed["organisations"] == [f"{BASE}/orgs/acme"]
    by_plain = client.post(url, headers=plain, json=audit).json()["body"]
    assert "organisations" not in by_plain  # a member, but not endorsed: no organisation
