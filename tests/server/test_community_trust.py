"""Trust statements in a community and reviewer profiles (docs/organisations.md, "Trust
statements", "Reviewer profiles"): members state trust, each statement is signed into the
log, the last one per pair counts, the founders' metric gives distances, and a reviewer's
page shows their track record, the trust they receive and their organisations."""

from __future__ import annotations

import hashlib
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from fpmreg.core.integrity import parse_multikey, verify_proof
from fpmreg.core.vet.trust import TrackRecord, reviewer_score
from fpmreg.server.clock import SystemClock
from fpmreg.server.communities.service import CommunitiesService
from fpmreg.server.communities.trust import TrustService
from fpmreg.server.storage import BlobStore
from tests.factories import make_owner_token, make_publisher, publish

C = "/api/v1/communities/fortran"
BASE = "http://testserver"


def _user(session: Session) -> tuple[str, dict[str, str]]:
    someone = make_publisher(session)
    token = make_owner_token(session, someone)
    return someone.user.username, {"Authorization": f"Bearer {token}"}


def _setup(client: TestClient, session: Session) -> dict[str, Any]:
    people = {role: _user(session) for role in ("founder", "alice", "bob", "reviewer", "outsider")}
    founder = people["founder"][1]
    client.post("/api/v1/communities", headers=founder, json={"name": "fortran", "title": "F"})
    client.put(f"{C}/criteria/safe-to-run", headers=founder, json={"description": "runs"})
    for who, role in (("alice", "member"), ("bob", "member"), ("reviewer", "reviewer")):
        client.put(f"{C}/members", headers=founder, json={"username": people[who][0], "role": role})
    return {
        who: {"name": name, "auth": auth, "uri": f"{BASE}/ap/users/{name}"}
        for who, (name, auth) in people.items()
    }


def _trust(client: TestClient, who: dict[str, Any], trustee: str, level: str, **more: str) -> Any:
    return client.put(
        f"{C}/trust", headers=who["auth"], json={"trustee": trustee, "level": level, **more}
    )


def test_members_state_trust_signed_into_the_log_and_the_metric_gives_distances(
    client: TestClient, session: Session
) -> None:
    p = _setup(client, session)
    stated = _trust(client, p["founder"], p["alice"]["name"], "high", reason="knows Fortran")
    assert stated.status_code == 200, stated.text
    assert stated.json()["trustee"] == p["alice"]["uri"]
    _trust(client, p["alice"], p["bob"]["uri"], "medium")
    listing = client.get(f"{C}/trust").json()
    distances = {a["actor"]: a["distance"] for a in listing["accepted"]}
    assert distances == {p["founder"]["uri"]: 0, p["alice"]["uri"]: 1, p["bob"]["uri"]: 2}
    community = CommunitiesService(session, SystemClock(), BASE).get("fortran")
    assert TrustService(session).distances(community) == distances  # what verdicts read

    first = listing["statements"][0]
    served = client.get(first["uri"].removeprefix(BASE))
    assert served.status_code == 200 and served.json()["reason"] == "knows Fortran"
    record = client.get(f"/api/v1/log/entries/{first['log_index']}").json()["record"]
    assert record["action"] == "community.trust" and record["subject"] == first["uri"]
    assert record["sha256"] == hashlib.sha256(served.content).hexdigest()
    keys = client.get("/log/keys").json()["keys"]
    (key,) = [k for k in keys if k["id"] == record["proof"]["verificationMethod"]]
    verify_proof(record, parse_multikey(key["publicKeyMultibase"]))

    _trust(client, p["founder"], p["alice"]["name"], "none")  # the last one counts
    after = client.get(f"{C}/trust").json()
    assert [s["level"] for s in after["statements"]] == ["medium", "none"]
    assert {a["actor"] for a in after["accepted"]} == {p["founder"]["uri"]}


def test_only_members_state_trust_and_bad_statements_name_what_to_fix(
    client: TestClient, session: Session
) -> None:
    p = _setup(client, session)
    outsider = _trust(client, p["outsider"], p["alice"]["name"], "high")
    assert outsider.status_code == 403
    assert outsider.json()["errors"][0]["code"] == "not-a-member"
    cases = [
        (p["alice"]["name"], "high", {}, 422, "trust-self"),
        ("nobody-at-all", "high", {}, 404, "user-not-found"),
        (p["bob"]["name"], "total", {}, 422, "trust-level-invalid"),
        (p["bob"]["name"], "low", {"scope": "not a uri"}, 422, "vet-uri-invalid"),
    ]
    for trustee, level, more, status, code in cases:
        answer = _trust(client, p["alice"], trustee, level, **more)
        assert answer.status_code == status, answer.text
        assert answer.json()["errors"][0]["code"] == code
    assert client.get(f"{C}/trust").json()["statements"] == []  # nothing half-written
    remote = _trust(client, p["alice"], "https://other.example/ap/users/carol", "low")
    assert remote.status_code == 200  # another registry's actor, as named


def test_a_reviewer_profile_shows_track_record_trust_and_organisations(
    client: TestClient, session: Session, store: BlobStore
) -> None:
    p = _setup(client, session)
    owner = make_publisher(session)
    for version in ("1.0.0", "1.1.0"):
        publish(session, store, owner, "lib", version)
    package = f"{owner.namespace.name}/lib"

    def audit(who: str, version: str, accept: bool | None, **more: str) -> int:
        body = {"package": package, "version": version, "criteria": ["safe-to-run"], **more}
        made = client.post(f"{C}/audits", headers=p[who]["auth"], json=body).json()
        if accept is not None:
            decision = {"accept": accept, "reason": "" if accept else "too thin"}
            client.post(
                f"{C}/audits/{made['id']}/decision", headers=p["reviewer"]["auth"], json=decision
            )
        return int(made["id"])

    audit("alice", "1.0.0", True)  # later contradicted by bob's violation
    audit("alice", "1.1.0", False)
    revoked = audit("alice", "1.1.0", True)
    client.post(
        f"{C}/audits/{revoked}/revoke",
        headers=p["alice"]["auth"],
        json={"reason": "missed a binding"},
    )
    audit("alice", "1.1.0", True)  # accepted and standing
    audit("alice", "1.1.0", None)  # still waiting: not in the record
    audit("bob", "1.0.0", True, verdict="violation", violation_range="<1.1")
    _trust(client, p["founder"], p["alice"]["name"], "high", reason="reviews well")
    client.post(
        "/api/v1/organisations",
        headers=p["founder"]["auth"],
        json={"name": "acme", "title": "Acme"},
    )
    client.put(
        "/api/v1/organisations/acme/members",
        headers=p["founder"]["auth"],
        json={"username": p["alice"]["name"], "role": "member"},
    )
    client.post(
        "/api/v1/organisations/acme/endorsements",
        headers=p["founder"]["auth"],
        json={"subject": p["alice"]["uri"], "kind": "auditor"},
    )

    answer = client.get(f"{C}/reviewers/{p['alice']['name']}")
    assert answer.status_code == 200, answer.text
    profile = answer.json()
    expected = TrackRecord(accepted=3, rejected=1, contradicted=2)
    assert profile["track_record"] == {
        "accepted": 3,
        "rejected": 1,
        "contradicted": 2,
        "score": round(reviewer_score(expected), 4),
    }
    assert 0 < profile["track_record"]["score"] < 0.5
    assert profile["distance"] == 1 and profile["role"] == "member"
    assert [s["truster"] for s in profile["trusted_by"]] == [p["founder"]["uri"]]
    assert profile["organisations"] == profile["endorsed_by"] == [f"{BASE}/orgs/acme"]

    page = client.get(f"/c/fortran/reviewers/{p['alice']['name']}")
    assert page.status_code == 200
    assert '<dd id="accepted">3</dd>' in page.text and '<dd id="contradicted">2</dd>' in page.text
    assert "1 hop from its founders" in page.text and "reviews well" in page.text
    assert "endorses them as an auditor" in page.text
    stranger = client.get(f"/c/fortran/reviewers/{p['outsider']['name']}").text
    assert '<dd id="accepted">0</dd>' in stranger and "Not accepted" in stranger
    assert client.get(f"{C}/reviewers/nobody-at-all").status_code == 404
