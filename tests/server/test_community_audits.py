"""Audits submitted to a community (docs/communities.md, "Audits"): bound to the served
tarballs' sha256, vetted by a reviewer (never the auditor), rejected with a reason,
revoked with a logged tombstone; and the accepted ones decide a policy's verdict."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from fpmreg.core.integrity import parse_multikey, verify_proof
from fpmreg.core.vet.audits import parse_audit
from fpmreg.core.vet.evaluate import Evidence, LockEntry, evaluate_lock
from fpmreg.core.vet.policy import parse_policy
from fpmreg.server.storage import BlobStore
from tests.factories import make_owner_token, make_publisher, publish

C = "/api/v1/communities/fortran"


def _user(session: Session) -> tuple[str, dict[str, str]]:
    someone = make_publisher(session)
    token = make_owner_token(session, someone)
    return someone.user.username, {"Authorization": f"Bearer {token}"}


def _setup(client: TestClient, session: Session, store: BlobStore) -> dict[str, Any]:
    """A community with a criterion and a policy, its founder, a reviewer, an auditor, and
    a package with two releases."""
    _, founder = _user(session)
    reviewer_name, reviewer = _user(session)
    _, auditor = _user(session)
    made = client.post("/api/v1/communities", headers=founder,
                       json={"name": "fortran", "title": "Fortran"})  # fmt: skip
    uri = made.json()["uri"]
    client.put(f"{C}/criteria/safe-to-run", headers=founder, json={"description": "runs"})
    policy = client.put(f"{C}/policies/default", headers=founder, json={
        "policy": {"requires": {"roots": [f"{uri}/criteria/safe-to-run"]}}}).json()  # fmt: skip
    client.put(
        f"{C}/members", headers=founder, json={"username": reviewer_name, "role": "reviewer"}
    )
    owner = make_publisher(session)
    one = publish(session, store, owner, "lib", "1.0.0")
    two = publish(session, store, owner, "lib", "1.1.0")
    return {"founder": founder, "reviewer": reviewer, "auditor": auditor, "uri": uri,
            "ns": owner.namespace.name, "sha": {"1.0.0": one.sha256, "1.1.0": two.sha256},
            "policy": policy["body"]}  # fmt: skip


def _submit(client: TestClient, s: dict[str, Any], **fields: object) -> Any:
    body = {"package": f"{s['ns']}/lib", "version": "1.0.0", "criteria": ["safe-to-run"], **fields}
    return client.post(f"{C}/audits", headers=s["auditor"], json=body)


def _decide(client: TestClient, auth: dict[str, str], audit_id: int, **body: object) -> Any:
    return client.post(f"{C}/audits/{audit_id}/decision", headers=auth, json=body)


def _verdict(client: TestClient, s: dict[str, Any], version: str) -> bool:
    """What `fpmreg vet` will compute: the lock entry against the community's policy,
    with the community's accepted audits."""
    accepted = client.get(f"{C}/audits", params={"status": "accepted"}).json()["audits"]
    evidence = Evidence(audits=[parse_audit(a["body"]) for a in accepted], now=datetime.now(UTC))
    purl = f"pkg:fpm/{s['ns']}/lib@{version}"
    entry = LockEntry(purl, s["sha"][version])
    return evaluate_lock([entry], parse_policy(s["policy"]), evidence).passed


def test_an_audit_is_bound_to_the_tarball_and_counts_once_a_reviewer_accepts_it(
    client: TestClient, session: Session, store: BlobStore
) -> None:
    s = _setup(client, session, store)
    submitted = _submit(client, s, thoroughness="high", notes="read every line")
    assert submitted.status_code == 201, submitted.text
    audit = submitted.json()
    assert audit["status"] == "submitted" and "log_index" not in audit
    assert audit["body"]["subject"] == {
        "purl": f"pkg:fpm/{s['ns']}/lib@1.0.0",
        "sha256": s["sha"]["1.0.0"],
    }
    assert audit["body"]["criteria"] == [f"{s['uri']}/criteria/safe-to-run"]
    queue = client.get(f"{C}/audits", params={"status": "submitted"}).json()["audits"]
    assert [a["id"] for a in queue] == [audit["id"]]
    assert not _verdict(client, s, "1.0.0")  # submitted is not accepted
    page = client.get("/c/fortran").text
    queued = page.split('id="audit-queue"')[1].split("</section>")[0]
    assert f'id="audit-{audit["id"]}"' in queued and "submitted" in queued

    accepted = _decide(client, s["reviewer"], audit["id"], accept=True)
    assert accepted.status_code == 200 and accepted.json()["status"] == "accepted"
    assert _verdict(client, s, "1.0.0")

    served = client.get(audit["uri"].removeprefix("http://testserver"))
    assert served.status_code == 200 and served.json() == audit["body"]
    logged = client.get(f"{C}/audits/{audit['id']}").json()  # logged as the decision commits
    record = client.get(f"/api/v1/log/entries/{logged['log_index']}").json()["record"]
    assert record["action"] == "community.audit-accept" and record["subject"] == audit["uri"]
    assert record["sha256"] == audit["sha256"]
    keys = client.get("/log/keys").json()["keys"]
    (key,) = [k for k in keys if k["id"] == record["proof"]["verificationMethod"]]
    verify_proof(record, parse_multikey(key["publicKeyMultibase"]))


def test_a_delta_audit_covers_the_next_release_and_a_revocation_fails_the_verdict(
    client: TestClient, session: Session, store: BlobStore
) -> None:
    s = _setup(client, session, store)
    full = _submit(client, s).json()
    _decide(client, s["reviewer"], full["id"], accept=True)
    assert not _verdict(client, s, "1.1.0")
    delta = _submit(client, s, version="1.1.0", delta_from="1.0.0").json()
    assert delta["body"]["deltaFrom"]["sha256"] == s["sha"]["1.0.0"]
    assert delta["body"]["deltaTo"]["sha256"] == s["sha"]["1.1.0"]
    _decide(client, s["reviewer"], delta["id"], accept=True)
    assert _verdict(client, s, "1.1.0")  # full 1.0.0, then the delta to 1.1.0

    revoked = client.post(f"{C}/audits/{full['id']}/revoke", headers=s["auditor"],
                          json={"reason": "missed a C binding"})  # fmt: skip
    assert revoked.status_code == 200 and revoked.json()["status"] == "revoked"
    assert not _verdict(client, s, "1.1.0")  # the chain lost its start
    index = client.get(f"{C}/audits/{full['id']}").json()["log_index"]
    tombstone = client.get(f"/api/v1/log/entries/{index}").json()["record"]
    assert tombstone["action"] == "community.audit-revoke"
    assert tombstone["reason"] == "missed a C binding"
    still = client.get(f"{C}/audits/{full['id']}").json()
    assert still["status"] == "revoked" and still["reason"] == "missed a C binding"
    decided = client.get("/c/fortran").text.split('id="audits"')[1].split("</section>")[0]
    assert "revoked" in decided and "missed a C binding" in decided and "delta" in decided


def test_only_other_reviewers_vet_and_a_rejection_says_why(
    client: TestClient, session: Session, store: BlobStore
) -> None:
    s = _setup(client, session, store)
    audit = _submit(client, s).json()
    outsider = _user(session)[1]
    assert _decide(client, outsider, audit["id"], accept=True).json()["errors"][0]["code"] == (
        "not-a-reviewer"
    )
    own = client.post(f"{C}/audits", headers=s["reviewer"],
                      json={"package": f"{s['ns']}/lib", "version": "1.0.0",
                            "criteria": ["safe-to-run"]}).json()  # fmt: skip
    refused = _decide(client, s["reviewer"], own["id"], accept=True)
    assert refused.status_code == 403 and refused.json()["errors"][0]["code"] == "own-audit"

    silent = _decide(client, s["reviewer"], audit["id"], accept=False)
    assert silent.status_code == 422 and silent.json()["errors"][0]["field"] == "reason"
    rejected = _decide(client, s["reviewer"], audit["id"], accept=False, reason="too shallow")
    assert rejected.json()["status"] == "rejected" and rejected.json()["reason"] == "too shallow"
    again = _decide(client, s["founder"], audit["id"], accept=True)
    assert again.status_code == 409
    assert not _verdict(client, s, "1.0.0")


def test_bad_audits_are_refused_naming_what_to_fix(
    client: TestClient, session: Session, store: BlobStore
) -> None:
    s = _setup(client, session, store)
    unknown = _submit(client, s, criteria=["safe-to-fly"])
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "criteria[0]"
    assert _submit(client, s, version="9.9.9").status_code == 404
    assert _submit(client, s, package="nobody/nothing").status_code == 404
    same = _submit(client, s, delta_from="1.0.0")
    assert same.status_code == 422 and same.json()["errors"][0]["field"] == "delta_from"
    no_range = _submit(client, s, verdict="violation")
    assert no_range.status_code == 422 and "violation" in no_range.text
    violation = _submit(client, s, verdict="violation", violation_range="<1.1")
    assert violation.status_code == 201, violation.text
    anonymous = client.post(
        f"{C}/audits", json={"package": "a/b", "version": "1", "criteria": ["x"]}
    )
    assert anonymous.status_code == 401
    assert len(client.get(f"{C}/audits").json()["audits"]) == 1  # only the good one
