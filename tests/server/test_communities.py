"""Packaging communities (docs/communities.md): a founder creates one, manages members,
and publishes criteria, guidance and policies; each version is served at its URI with
the bytes whose digest the transparency log signs; bad input is refused naming the field."""

from __future__ import annotations

import hashlib
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from fpmreg.core.integrity import parse_multikey, verify_proof
from fpmreg.core.vet.policy import parse_policy
from tests.factories import make_owner_token, make_publisher

BASE = "http://testserver"  # what the test app's links start with


def _founder(session: Session) -> tuple[str, dict[str, str]]:
    owner = make_publisher(session)
    return owner.user.username, {"Authorization": f"Bearer {make_owner_token(session, owner)}"}


def _community(client: TestClient, auth: dict[str, str], name: str = "fortran") -> Any:
    made = client.post(
        "/api/v1/communities",
        headers=auth,
        json={"name": name, "title": "Fortran packaging", "summary": "We vet."},
    )
    assert made.status_code == 201, made.text
    return made.json()


def _criterion(client: TestClient, auth: dict[str, str], slug: str, **body: object) -> Any:
    return client.put(
        f"/api/v1/communities/fortran/criteria/{slug}",
        headers=auth,
        json={"description": f"{slug} described", **body},
    )


def _publish_all(client: TestClient, auth: dict[str, str]) -> str:
    uri = _community(client, auth)["uri"]
    assert _criterion(client, auth, "safe-to-run").status_code == 200
    deploy = _criterion(client, auth, "safe-to-deploy", implies=[f"{uri}/criteria/safe-to-run"])
    assert deploy.status_code == 200, deploy.text
    guidance = client.put(
        "/api/v1/communities/fortran/guidance/how-to-audit",
        headers=auth,
        json={"title": "How to audit", "text": "# Read the diff\n\nAll of it."},
    )
    assert guidance.status_code == 200, guidance.text
    policy = client.put(
        "/api/v1/communities/fortran/policies/default",
        headers=auth,
        json={
            "policy": {
                "requires": {
                    "roots": [f"{uri}/criteria/safe-to-deploy"],
                    "dev": [f"{uri}/criteria/safe-to-run"],
                },
                "quorum": {"count": 2, "distinctOrganisations": True},
            }
        },
    )
    assert policy.status_code == 200, policy.text
    return str(uri)


def test_a_founder_publishes_criteria_guidance_and_a_policy_that_everyone_reads(
    client: TestClient, session: Session
) -> None:
    founder, auth = _founder(session)
    uri = _publish_all(client, auth)
    assert uri == f"{BASE}/c/fortran"

    community = client.get("/api/v1/communities/fortran").json()
    assert [(m["username"], m["role"]) for m in community["members"]] == [(founder, "founder")]
    criteria = {d["slug"]: d for d in community["criteria"]}
    assert criteria["safe-to-deploy"]["body"]["implies"] == [f"{uri}/criteria/safe-to-run"]
    assert criteria["safe-to-deploy"]["uri"] == f"{uri}/criteria/safe-to-deploy"
    (policy,) = community["policies"]
    assert policy["body"]["id"] == f"{uri}/policies/default"
    assert policy["body"]["community"] == uri
    parsed = parse_policy(policy["body"])  # what `fpmreg vet` will read
    assert parsed.quorum.count == 2 and parsed.root_criteria == {f"{uri}/criteria/safe-to-deploy"}
    assert [c["name"] for c in client.get("/api/v1/communities").json()["communities"]] == [
        "fortran"
    ]

    page = client.get("/c/fortran")
    assert page.status_code == 200
    assert "Fortran packaging" in page.text and "safe-to-deploy described" in page.text
    assert "<h1>Read the diff</h1>" in page.text  # the guidance's Markdown, rendered
    assert founder in page.text and "distinctOrganisations" in page.text
    assert "Fortran packaging" in client.get("/c/").text


def test_every_version_is_served_with_the_bytes_the_log_signs(
    client: TestClient, session: Session
) -> None:
    _, auth = _founder(session)
    _publish_all(client, auth)
    (policy,) = client.get("/api/v1/communities/fortran").json()["policies"]
    served = client.get(policy["uri"].removeprefix(BASE) + "/versions/1")
    assert served.status_code == 200 and served.headers["content-type"] == "application/json"
    assert hashlib.sha256(served.content).hexdigest() == policy["sha256"]
    assert client.get(policy["uri"].removeprefix(BASE)).content == served.content

    entry = client.get(f"/api/v1/log/entries/{policy['log_index']}").json()
    record = entry["record"]
    assert record["action"] == "community.publish" and record["kind"] == "policies"
    assert record["subject"] == policy["uri"] + "/versions/1"
    assert record["sha256"] == policy["sha256"] and "package" not in record
    keys = client.get("/log/keys").json()["keys"]
    (key,) = [k for k in keys if k["id"] == record["proof"]["verificationMethod"]]
    verify_proof(record, parse_multikey(key["publicKeyMultibase"]))


def test_a_change_is_a_new_version_and_the_same_text_is_not(
    client: TestClient, session: Session
) -> None:
    _, auth = _founder(session)
    _community(client, auth)
    first = _criterion(client, auth, "safe-to-run").json()
    again = _criterion(client, auth, "safe-to-run").json()
    assert again["version"] == first["version"] == 1 and again["sha256"] == first["sha256"]
    changed = _criterion(client, auth, "safe-to-run", description="now stricter").json()
    assert changed["version"] == 2 and changed["sha256"] != first["sha256"]

    versions = client.get("/api/v1/communities/fortran/criteria/safe-to-run").json()["versions"]
    assert [v["version"] for v in versions] == [1, 2]
    assert versions[0]["body"]["description"] == "safe-to-run described"  # never rewritten
    assert client.get("/c/fortran/criteria/safe-to-run").json()["description"] == "now stricter"
    missing = client.get("/c/fortran/criteria/safe-to-run/versions/3")
    assert missing.status_code == 404 and "versions 1 to 2" in missing.text


def test_only_founders_change_a_community_and_someone_stays_founder(
    client: TestClient, session: Session
) -> None:
    _, auth = _founder(session)
    _community(client, auth)
    other, other_auth = _founder(session)
    refused = _criterion(client, other_auth, "safe-to-run")
    assert refused.status_code == 403 and refused.json()["errors"][0]["code"] == "not-a-founder"
    anonymous = _criterion(client, {}, "safe-to-run")
    assert anonymous.status_code == 401 and "manage" in anonymous.json()["errors"][0]["detail"]

    added = client.put(
        "/api/v1/communities/fortran/members",
        headers=auth,
        json={"username": other, "role": "reviewer"},
    )
    assert added.status_code == 200
    assert {m["username"]: m["role"] for m in added.json()["members"]}[other] == "reviewer"
    assert _criterion(client, other_auth, "safe-to-run").status_code == 403  # reviewer ≠ founder

    me = next(m["username"] for m in added.json()["members"] if m["role"] == "founder")
    last = client.put(
        "/api/v1/communities/fortran/members", headers=auth, json={"username": me, "role": "member"}
    )
    assert last.status_code == 409 and last.json()["errors"][0]["code"] == "last-founder"


def test_bad_communities_and_documents_are_refused_naming_what_to_fix(
    client: TestClient, session: Session
) -> None:
    _, auth = _founder(session)
    bad_name = client.post(
        "/api/v1/communities", headers=auth, json={"name": "Has Spaces", "title": "x"}
    )
    assert bad_name.status_code == 422 and bad_name.json()["errors"][0]["field"] == "name"
    nul = client.post("/api/v1/communities", headers=auth, json={"name": "c", "title": "a\x00b"})
    assert nul.status_code == 422 and "NUL" in nul.json()["errors"][0]["detail"]
    uri = _community(client, auth)["uri"]
    taken = client.post(
        "/api/v1/communities", headers=auth, json={"name": "fortran", "title": "again"}
    )
    assert taken.status_code == 409 and "choose another name" in taken.text

    not_uri = _criterion(client, auth, "safe-to-run", implies=["not a uri"])
    assert not_uri.status_code == 422 and not_uri.json()["errors"][0]["field"] == "implies[0]"
    unknown = client.put(
        "/api/v1/communities/fortran/policies/p",
        headers=auth,
        json={"policy": {"requires": {"roots": [f"{uri}/criteria/nope"]}}},
    )
    assert unknown.status_code == 422
    error = unknown.json()["errors"][0]
    assert error["field"] == "requires.roots" and "publish it first" in error["detail"]
    fixed = client.put(
        "/api/v1/communities/fortran/policies/p",
        headers=auth,
        json={"policy": {"id": "https://elsewhere.example/p"}},
    )
    assert fixed.status_code == 422 and fixed.json()["errors"][0]["field"] == "id"
    bad_slug = client.put(
        "/api/v1/communities/fortran/criteria/Bad_Slug", headers=auth, json={"description": "x"}
    )
    assert bad_slug.status_code == 422
    assert client.get("/api/v1/communities/nowhere").status_code == 404
    assert client.get("/c/nowhere").status_code == 404
    assert (
        client.get("/api/v1/communities/fortran").json()["criteria"] == []
    )  # nothing half-written
