"""A community's vetting rule (docs/communities.md, "Vetting"): an audit counts once the
community's quorum of distinct reviewers accepts it; one rejection turns it down."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from fpmreg.server.storage import BlobStore
from tests.factories import make_owner_token, make_publisher, publish

C = "/api/v1/communities/fortran"


def _user(session: Session) -> tuple[str, dict[str, str]]:
    someone = make_publisher(session)
    return someone.user.username, {"Authorization": f"Bearer {make_owner_token(session, someone)}"}


def _setup(client: TestClient, session: Session, store: BlobStore) -> dict[str, Any]:
    """`fortran` needing two reviewers, with a policy; two reviewers and an auditor."""
    _, founder = _user(session)
    names, reviewers = [], []
    for _ in range(2):
        name, auth = _user(session)
        names.append(name)
        reviewers.append(auth)
    _, auditor = _user(session)
    body = {"name": "fortran", "title": "Fortran", "reviews_needed": 2}
    made = client.post("/api/v1/communities", headers=founder, json=body)
    assert made.status_code == 201, made.text
    assert made.json()["reviews_needed"] == 2
    uri = made.json()["uri"]
    client.put(f"{C}/criteria/safe-to-run", headers=founder, json={"description": "runs"})
    client.put(f"{C}/policies/default", headers=founder, json={
        "policy": {"requires": {"roots": [f"{uri}/criteria/safe-to-run"]}}})  # fmt: skip
    for name in names:
        client.put(f"{C}/members", headers=founder, json={"username": name, "role": "reviewer"})
    owner = make_publisher(session)
    publish(session, store, owner, "lib", "1.0.0")
    audit = client.post(f"{C}/audits", headers=auditor, json={
        "package": f"{owner.namespace.name}/lib", "version": "1.0.0",
        "criteria": ["safe-to-run"]}).json()  # fmt: skip
    return {"founder": founder, "reviewers": reviewers, "names": names, "audit": audit["id"],
            "ns": owner.namespace.name}  # fmt: skip


def _decide(client: TestClient, auth: dict[str, str], audit: int, **body: object) -> Any:
    return client.post(f"{C}/audits/{audit}/decision", headers=auth, json=body)


def _result(client: TestClient, s: dict[str, Any]) -> str:
    (verdict,) = client.get(f"/api/v1/packages/{s['ns']}/lib/1.0.0/verdicts").json()["verdicts"]
    return str(verdict["result"])


def test_an_audit_counts_once_two_distinct_reviewers_accept_it(
    client: TestClient, session: Session, store: BlobStore
) -> None:
    s = _setup(client, session, store)
    first = _decide(client, s["reviewers"][0], s["audit"], accept=True)
    assert first.status_code == 200, first.text
    assert first.json()["status"] == "submitted"
    assert first.json()["approvals"] == [s["names"][0]]
    assert _result(client, s) == "FAILED"
    page = client.get("/c/fortran")
    assert "1 of 2 reviewers accepted" in page.text

    again = _decide(client, s["reviewers"][0], s["audit"], accept=True)
    assert again.status_code == 409 and again.json()["errors"][0]["code"] == "audit-approved"

    second = _decide(client, s["reviewers"][1], s["audit"], accept=True)
    assert second.json()["status"] == "accepted"
    assert "approvals" not in second.json()
    assert _result(client, s) == "PASSED"


def test_one_rejection_turns_an_audit_down_whatever_was_accepted(
    client: TestClient, session: Session, store: BlobStore
) -> None:
    s = _setup(client, session, store)
    _decide(client, s["reviewers"][0], s["audit"], accept=True)
    rejected = _decide(client, s["reviewers"][1], s["audit"], accept=False, reason="no tests")
    assert rejected.json()["status"] == "rejected" and rejected.json()["reason"] == "no tests"
    late = _decide(client, s["reviewers"][0], s["audit"], accept=True)
    assert late.status_code == 409


def test_founders_set_the_rule_and_bad_values_are_refused(
    client: TestClient, session: Session, store: BlobStore
) -> None:
    s = _setup(client, session, store)
    changed = client.put(f"{C}/rules", headers=s["founder"], json={"reviews_needed": 1})
    assert changed.status_code == 200 and changed.json()["reviews_needed"] == 1
    assert _decide(client, s["reviewers"][0], s["audit"], accept=True).json()["status"] == (
        "accepted"
    )
    refused = client.put(f"{C}/rules", headers=s["reviewers"][0], json={"reviews_needed": 3})
    assert refused.status_code == 403 and refused.json()["errors"][0]["code"] == "not-a-founder"
    zero = client.put(f"{C}/rules", headers=s["founder"], json={"reviews_needed": 0})
    assert zero.status_code == 422
