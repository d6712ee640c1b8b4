"""Signed verdicts (docs/communities.md, "Verdicts"): the registry evaluates its
communities' policies for each release in the transaction of the event that changes the
answer, keeps the history, signs each verdict document into the log, and shows the
current ones on the package page."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from fpmreg.core.integrity import parse_multikey, verify_proof
from fpmreg.server.builds.models import BuildOutcome
from fpmreg.server.builds.service import BuildsService, Outcome
from fpmreg.server.clock import SystemClock
from fpmreg.server.communities import verdicts
from fpmreg.server.packages.models import Version
from fpmreg.server.storage import BlobStore
from tests.factories import make_owner_token, make_publisher, publish

A = "/api/v1/communities/numerics"
B = "/api/v1/communities/fortran"
HOST = "http://testserver"


def _user(session: Session) -> tuple[str, dict[str, str]]:
    someone = make_publisher(session)
    token = make_owner_token(session, someone)
    return someone.user.username, {"Authorization": f"Bearer {token}"}


def _setup(client: TestClient, session: Session, store: BlobStore) -> dict[str, Any]:
    """Community `numerics` (criterion `reviewed`) and community `fortran` (criterion
    `safe-to-run`, policy `default` accepting numerics' `reviewed` as its `safe-to-run`);
    then a package whose two releases are published once the policy exists."""
    _, founder = _user(session)
    reviewer_name, reviewer = _user(session)
    auditor_name, auditor = _user(session)
    a = client.post("/api/v1/communities", headers=founder,
                    json={"name": "numerics", "title": "Numerics"}).json()["uri"]  # fmt: skip
    b = client.post("/api/v1/communities", headers=founder,
                    json={"name": "fortran", "title": "Fortran"}).json()["uri"]  # fmt: skip
    client.put(f"{A}/criteria/reviewed", headers=founder, json={"description": "read it all"})
    client.put(f"{B}/criteria/safe-to-run", headers=founder, json={"description": "runs"})
    client.put(f"{A}/members", headers=founder,
               json={"username": reviewer_name, "role": "reviewer"})  # fmt: skip
    policy = client.put(f"{B}/policies/default", headers=founder, json={"policy": {
        "requires": {"roots": [f"{b}/criteria/safe-to-run"]},
        "acceptFrom": [{"community": a, "mappings": [
            {"from": f"{a}/criteria/reviewed", "to": f"{b}/criteria/safe-to-run"}]}],
    }})  # fmt: skip
    assert policy.status_code == 200, policy.text
    owner = make_publisher(session)
    one = publish(session, store, owner, "lib", "1.0.0")
    two = publish(session, store, owner, "lib", "1.1.0")
    return {"founder": founder, "reviewer": reviewer, "auditor": auditor, "a": a, "b": b,
            "auditor_name": auditor_name, "ns": owner.namespace.name, "owner": owner,
            "sha": {"1.0.0": one.sha256, "1.1.0": two.sha256}, "policy": policy.json()}  # fmt: skip


def _audit(client: TestClient, s: dict[str, Any], **fields: object) -> dict[str, Any]:
    body = {"package": f"{s['ns']}/lib", "version": "1.0.0", "criteria": ["reviewed"], **fields}
    made = client.post(f"{A}/audits", headers=s["auditor"], json=body)
    assert made.status_code == 201, made.text
    audit: dict[str, Any] = made.json()
    return audit


def _accept(client: TestClient, s: dict[str, Any], audit: dict[str, Any]) -> None:
    done = client.post(f"{A}/audits/{audit['id']}/decision", headers=s["reviewer"],
                       json={"accept": True})  # fmt: skip
    assert done.status_code == 200, done.text


def _verdicts(client: TestClient, s: dict[str, Any], version: str) -> list[dict[str, Any]]:
    answer = client.get(f"/api/v1/packages/{s['ns']}/lib/{version}/verdicts")
    assert answer.status_code == 200, answer.text
    found: list[dict[str, Any]] = answer.json()["verdicts"]
    return found


def _only(client: TestClient, s: dict[str, Any], version: str) -> dict[str, Any]:
    (verdict,) = _verdicts(client, s, version)
    return verdict


def _document(client: TestClient, verdict: dict[str, Any]) -> dict[str, Any]:
    served = client.get(verdict["uri"].removeprefix(HOST))
    assert served.status_code == 200 and served.headers["content-type"] == "application/json"
    assert hashlib.sha256(served.content).hexdigest() == verdict["document_sha256"]
    document: dict[str, Any] = served.json()
    return document


def test_a_release_without_audits_fails_with_the_reason(
    client: TestClient, session: Session, store: BlobStore
) -> None:
    s = _setup(client, session, store)
    verdict = _only(client, s, "1.0.0")
    assert verdict["result"] == "FAILED" and verdict["community"] == "fortran"
    assert verdict["policy"] == f"{s['b']}/policies/default" and verdict["policy_version"] == 1
    assert verdict["inputs"] == [] and verdict["sha256"] == s["sha"]["1.0.0"]
    document = _document(client, verdict)
    assert document["_type"] == "https://in-toto.io/Statement/v1"
    assert document["predicateType"] == "https://slsa.dev/verification_summary/v1"
    assert document["subject"] == [
        {"name": f"pkg:fpm/{s['ns']}/lib@1.0.0", "digest": {"sha256": s["sha"]["1.0.0"]}}
    ]
    predicate = document["predicate"]
    assert predicate["verifier"] == {"id": s["b"]}
    assert predicate["resourceUri"] == f"{HOST}/tarballs/{s['ns']}/lib/1.0.0.tar.gz"
    assert predicate["policy"] == {"uri": f"{s['b']}/policies/default/versions/1",
                                   "digest": {"sha256": s["policy"]["sha256"]}}  # fmt: skip
    assert predicate["verificationResult"] == "FAILED" and predicate["verifiedLevels"] == []
    codes = [r["code"] for r in predicate["fpmregVet"]["reasons"]]
    assert "vet-not-certified" in codes
    assert predicate["fpmregVet"]["suggestions"][0]["criteria"] == [
        f"{s['b']}/criteria/safe-to-run"
    ]


def test_audits_from_an_accepted_community_pass_and_a_delta_covers_the_next_release(
    client: TestClient, session: Session, store: BlobStore
) -> None:
    s = _setup(client, session, store)
    full = _audit(client, s)
    assert _only(client, s, "1.0.0")["result"] == "FAILED"  # submitted is not accepted
    _accept(client, s, full)
    passed = _only(client, s, "1.0.0")
    assert passed["result"] == "PASSED"
    assert passed["inputs"] == [{"uri": full["uri"], "sha256": full["sha256"]}]
    predicate = _document(client, passed)["predicate"]
    assert predicate["verificationResult"] == "PASSED"
    assert predicate["verifiedLevels"] == [f"{s['b']}/criteria/safe-to-run"]
    assert predicate["inputAttestations"] == [
        {"uri": full["uri"], "digest": {"sha256": full["sha256"]}}
    ]
    assert _only(client, s, "1.1.0")["result"] == "FAILED"

    delta = _audit(client, s, version="1.1.0", delta_from="1.0.0")
    assert _only(client, s, "1.1.0")["result"] == "FAILED"
    _accept(client, s, delta)
    newer = _only(client, s, "1.1.0")
    assert newer["result"] == "PASSED"
    assert {i["uri"] for i in newer["inputs"]} == {full["uri"], delta["uri"]}
    assert _only(client, s, "1.0.0")["id"] == passed["id"]  # unchanged: no new verdict


def test_a_rejected_audit_changes_nothing_and_a_revocation_fails_again_keeping_history(
    client: TestClient, session: Session, store: BlobStore
) -> None:
    s = _setup(client, session, store)
    full = _audit(client, s)
    _accept(client, s, full)
    passed = _only(client, s, "1.0.0")
    shallow = _audit(client, s, version="1.1.0")
    rejected = client.post(f"{A}/audits/{shallow['id']}/decision", headers=s["reviewer"],
                           json={"accept": False, "reason": "too shallow"})  # fmt: skip
    assert rejected.status_code == 200
    before = client.get(f"{B}/verdicts", params={"history": "true"}).json()["verdicts"]
    assert _only(client, s, "1.0.0")["id"] == passed["id"]
    assert _only(client, s, "1.1.0")["result"] == "FAILED"

    revoked = client.post(f"{A}/audits/{full['id']}/revoke", headers=s["auditor"],
                          json={"reason": "missed a C binding"})  # fmt: skip
    assert revoked.status_code == 200
    failed = _only(client, s, "1.0.0")
    assert failed["result"] == "FAILED" and failed["id"] > passed["id"]
    history = client.get(f"{B}/verdicts", params={"history": "true", "package": f"{s['ns']}/lib"})
    rows = history.json()["verdicts"]
    # 1.0.0 failed, and 1.1.0 no longer rests on the revoked audit: a new verdict each,
    # and nothing was removed
    assert len(rows) == len(before) + 2
    assert {v["id"] for v in before} <= {v["id"] for v in rows}
    of_one = [(v["id"], v["result"]) for v in rows if v["version"] == "1.0.0"]
    assert of_one[:2] == [(failed["id"], "FAILED"), (passed["id"], "PASSED")]
    current = client.get(f"{B}/verdicts", params={"package": f"{s['ns']}/lib"}).json()
    assert sorted((v["version"], v["result"]) for v in current["verdicts"]) == [
        ("1.0.0", "FAILED"), ("1.1.0", "FAILED")]  # fmt: skip


def test_a_verdict_document_is_signed_into_the_log_by_the_registry(
    client: TestClient, session: Session, store: BlobStore
) -> None:
    s = _setup(client, session, store)
    _accept(client, s, _audit(client, s))
    verdict = _only(client, s, "1.0.0")
    again = client.get(f"{B}/verdicts/{verdict['id']}").json()
    assert again == verdict and isinstance(verdict["log_index"], int)
    _document(client, verdict)  # the bytes hash to `document_sha256`
    record = client.get(f"/api/v1/log/entries/{verdict['log_index']}").json()["record"]
    assert record["action"] == "community.verdict" and record["subject"] == verdict["uri"]
    assert record["sha256"] == verdict["document_sha256"]
    assert record["registry"] == HOST and record["community"] == s["b"]
    keys = client.get("/log/keys").json()["keys"]
    (key,) = [k for k in keys if k["id"] == record["proof"]["verificationMethod"]]
    verify_proof(record, parse_multikey(key["publicKeyMultibase"]))


def test_the_package_page_shows_verdicts_and_audits_by_community(
    client: TestClient, session: Session, store: BlobStore
) -> None:
    s = _setup(client, session, store)
    full = _audit(client, s)
    _accept(client, s, full)
    delta = _audit(client, s, version="1.1.0", delta_from="1.0.0")
    _accept(client, s, delta)
    page = client.get(f"/project/{s['ns']}/lib/1.0.0")
    assert page.status_code == 200
    section = page.text.split('id="vetting"')[1].split("</section>\n</section>")[0]
    fortran = section.split('id="vetting-fortran"')[1]
    verdict = _only(client, s, "1.0.0")
    assert "Passed" in fortran and "default" in fortran and verdict["uri"] in fortran
    numerics = section.split('id="vetting-numerics"')[1].split('id="vetting-fortran"')[0]
    assert f"/c/numerics/audits/{full['id']}" in numerics and s["auditor_name"] in numerics
    assert "Full audit" in numerics and "Delta audit" in numerics and "1.0.0 → 1.1.0" in numerics
    assert "<code>reviewed</code>" in numerics
    bare = client.get(f"/project/{s['ns']}/lib/1.1.0").text
    assert "Passed" in bare.split('id="vetting-fortran"')[1]


def test_a_release_published_later_is_evaluated_against_every_policy(
    client: TestClient, session: Session, store: BlobStore
) -> None:
    s = _setup(client, session, store)
    _accept(client, s, _audit(client, s))
    owner = make_publisher(session)
    publish(session, store, owner, "other", "2.0.0")
    (verdict,) = client.get(f"/api/v1/packages/{owner.namespace.name}/other/2.0.0/verdicts").json()[
        "verdicts"
    ]
    assert verdict["result"] == "FAILED" and verdict["policy"] == f"{s['b']}/policies/default"


def test_a_new_policy_version_is_evaluated_for_the_audited_packages(
    client: TestClient, session: Session, store: BlobStore
) -> None:
    s = _setup(client, session, store)
    _accept(client, s, _audit(client, s))
    assert _only(client, s, "1.0.0")["result"] == "PASSED"
    strict = client.put(f"{B}/policies/default", headers=s["founder"], json={"policy": {
        "requires": {"roots": [f"{s['b']}/criteria/safe-to-run"]}}})  # fmt: skip
    assert strict.json()["version"] == 2  # no acceptFrom: numerics' audits no longer count
    verdict = _only(client, s, "1.0.0")
    assert verdict["result"] == "FAILED" and verdict["policy_version"] == 2


def test_unknown_packages_communities_and_verdicts_are_404_envelopes(
    client: TestClient, session: Session, store: BlobStore
) -> None:
    s = _setup(client, session, store)
    cases = {
        "/api/v1/packages/nobody/nothing/1.0.0/verdicts": "package-not-found",
        f"/api/v1/packages/{s['ns']}/lib/9.9.9/verdicts": "version-not-found",
        "/api/v1/communities/nowhere/verdicts": "community-not-found",
        f"{B}/verdicts/999999": "verdict-not-found",
    }
    for url, code in cases.items():
        answer = client.get(url)
        assert answer.status_code == 404, url
        assert answer.json()["errors"][0]["code"] == code, url
    # The documents' URIs answer as the site's pages do (an HTML error page).
    missing = client.get("/c/fortran/verdicts/999999")
    assert missing.status_code == 404 and "has no verdict 999999" in missing.text
    assert client.get("/c/nowhere/verdicts/1").status_code == 404


def test_a_policy_limiting_trust_distance_counts_only_auditors_its_community_trusts(
    client: TestClient, session: Session, store: BlobStore
) -> None:
    s = _setup(client, session, store)
    _accept(client, s, _audit(client, s))
    assert _only(client, s, "1.0.0")["result"] == "PASSED"
    policy = {**s["policy"]["body"], "maxTrustDistance": 2}
    del policy["id"], policy["community"]
    limited = client.put(f"{B}/policies/default", headers=s["founder"], json={"policy": policy})
    assert limited.status_code == 200 and limited.json()["version"] == 2, limited.text
    verdict = _only(client, s, "1.0.0")
    assert verdict["result"] == "FAILED" and verdict["policy_version"] == 2
    reasons = _document(client, verdict)["predicate"]["fpmregVet"]["reasons"]
    assert any("is not trusted" in r["message"] for r in reasons)
    # A founder of `fortran` trusts the auditor: one hop, within the policy's two.
    stated = client.put(f"{B}/trust", headers=s["founder"],
                         json={"trustee": s["auditor_name"], "level": "high"})  # fmt: skip
    assert stated.status_code in (200, 201), stated.text
    assert _only(client, s, "1.0.0")["result"] == "PASSED"


def test_an_event_evaluates_a_bounded_number_of_releases_newest_first(
    client: TestClient, session: Session, store: BlobStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = _setup(client, session, store)
    monkeypatch.setattr(verdicts, "MAX_RELEASES_PER_EVENT", 1)
    first = _only(client, s, "1.0.0")
    _accept(client, s, _audit(client, s))
    assert _only(client, s, "1.0.0")["id"] == first["id"]  # beyond the bound: unchanged
    assert _only(client, s, "1.1.0")["inputs"] != []  # the newest was evaluated again


def test_a_policy_requiring_a_fact_passes_once_the_registry_attests_it(
    client: TestClient, session: Session, store: BlobStore
) -> None:
    s = _setup(client, session, store)
    _accept(client, s, _audit(client, s))
    policy = {**s["policy"]["body"], "requiresFacts": ["expectations-declared"]}
    del policy["id"], policy["community"]
    client.put(f"{B}/policies/default", headers=s["founder"], json={"policy": policy})
    verdict = _only(client, s, "1.0.0")
    assert verdict["result"] == "FAILED" and verdict["policy_version"] == 2
    reasons = _document(client, verdict)["predicate"]["fpmregVet"]["reasons"]
    assert "vet-fact-missing" in [r["code"] for r in reasons]
    token = make_owner_token(session, s["owner"])
    declared = client.put(f"/api/v1/packages/{s['ns']}/lib/expectations",
                          headers={"Authorization": f"Bearer {token}"},
                          json={"status": "active", "response": "best-effort",
                                "contact": "security@example.org"})  # fmt: skip
    assert declared.status_code == 200, declared.text
    assert _only(client, s, "1.0.0")["result"] == "PASSED"


def test_a_finished_build_reevaluates_a_policy_requiring_a_verified_build(
    client: TestClient, session: Session, store: BlobStore
) -> None:
    s = _setup(client, session, store)
    _accept(client, s, _audit(client, s))
    policy = {**s["policy"]["body"], "requiresFacts": ["build-verified"]}
    del policy["id"], policy["community"]
    client.put(f"{B}/policies/default", headers=s["founder"], json={"policy": policy})
    assert _only(client, s, "1.0.0")["result"] == "FAILED"
    version_id = session.scalar(select(Version.id).where(Version.sha256 == s["sha"]["1.0.0"]))
    assert version_id is not None
    builds = BuildsService(session, SystemClock())

    builds.record(version_id, Outcome(BuildOutcome.FAILED, "tests failed"))
    session.commit()
    assert _only(client, s, "1.0.0")["result"] == "FAILED"

    builds.record(version_id, Outcome(BuildOutcome.PASSED, "built and tested"))
    session.commit()
    assert _only(client, s, "1.0.0")["result"] == "PASSED"
