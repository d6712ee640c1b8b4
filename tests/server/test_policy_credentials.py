"""Credentials and badges of community policies (docs/credentials.md, "Policy
credentials"; docs/badges.md, "Policy verdicts"): a passing verdict issues an Open Badges
3.0 credential that the independent verifier accepts, a later failing verdict revokes it
in the status list, and the badge says what the current verdict says."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from fpmreg.server.linked.credentials_documents import bit, decode_bits
from fpmreg.server.storage import BlobStore
from tests.server.test_verdicts import HOST, A, _accept, _audit, _only, _setup
from tests.support.vc_verifier import NodeVerifier, install


@pytest.fixture(scope="module")
def node_verifier(tmp_path_factory: pytest.TempPathFactory) -> NodeVerifier:
    return install(tmp_path_factory.mktemp("vc"))


def _credential_path(s: dict[str, Any], version: str = "1.0.0") -> str:
    return f"/credentials/{s['ns']}/lib/{version}/policies/fortran/default"


def _documents(client: TestClient, credential: dict[str, Any]) -> dict[str, Any]:
    """What a verifier fetches: the issuer's keys and the status list."""
    issuer = credential["issuer"]["id"]
    status = credential["credentialStatus"]["statusListCredential"]
    return {url: client.get(url.removeprefix(HOST)).json() for url in (issuer, status)}


def _badge(client: TestClient, path: str) -> str:
    answer = client.get(path)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("image/svg+xml")
    return answer.text


def test_a_passing_verdict_issues_a_credential_the_verifier_accepts_and_revocation_revokes(
    client: TestClient, session: Session, store: BlobStore, node_verifier: NodeVerifier
) -> None:
    s = _setup(client, session, store)
    missing = client.get(_credential_path(s))
    assert missing.status_code == 404
    assert "when a verdict of that policy passes" in missing.text

    audit = _audit(client, s)
    _accept(client, s, audit)
    verdict = _only(client, s, "1.0.0")
    assert verdict["result"] == "PASSED"
    answer = client.get(_credential_path(s))
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("application/vc+ld+json")
    credential = answer.json()
    assert credential["type"] == ["VerifiableCredential", "OpenBadgeCredential"]
    subject = credential["credentialSubject"]
    assert subject["id"] == f"pkg:fpm/{s['ns']}/lib@1.0.0"
    assert subject["identifier"][0]["identityHash"] == s["sha"]["1.0.0"]
    assert subject["achievement"]["criteria"]["id"] == f"{s['b']}/policies/default/versions/1"
    evidence = [e["id"] for e in credential["evidence"]]
    assert evidence[0] == verdict["uri"]
    assert client.get(evidence[1].removeprefix(HOST)).json()["id"] == verdict["id"]

    documents = _documents(client, credential)
    assert node_verifier.verify(credential, documents)["verified"] is True
    tampered = copy.deepcopy(credential)
    tampered["credentialSubject"]["identifier"][0]["identityHash"] = "0" * 64
    assert node_verifier.verify(tampered, documents)["verified"] is False

    revoked = client.post(f"{A}/audits/{audit['id']}/revoke", headers=s["auditor"],
                          json={"reason": "missed a C binding"})  # fmt: skip
    assert revoked.status_code == 200, revoked.text
    assert _only(client, s, "1.0.0")["result"] == "FAILED"
    status = credential["credentialStatus"]
    listed = client.get(status["statusListCredential"].removeprefix(HOST)).json()
    assert bit(decode_bits(listed["credentialSubject"]["encodedList"]),
               int(status["statusListIndex"]))  # fmt: skip
    after = node_verifier.verify(
        client.get(_credential_path(s)).json(), _documents(client, credential)
    )
    assert after["verified"] is False and after["revoked"] is True


def test_the_policy_badge_follows_the_current_verdict_and_the_page_offers_it(
    client: TestClient, session: Session, store: BlobStore
) -> None:
    s = _setup(client, session, store)
    pinned = f"/badges/{s['ns']}/lib/1.0.0/policies/fortran/default.svg"
    latest = f"/badges/{s['ns']}/lib/policies/fortran/default.svg"
    assert ">failed<" in _badge(client, pinned)
    assert "fortran/default" in _badge(client, pinned)
    assert ">failed<" in _badge(client, latest)  # 1.1.0, the newest, has no audit either

    _accept(client, s, _audit(client, s))
    passed = _badge(client, pinned)
    assert ">passed<" in passed
    assert f"<title>{s['ns']}/lib@1.0.0: 1.0.0 passed policy default of community fortran" in passed
    assert ">failed<" in _badge(client, latest)
    assert ">not evaluated<" in _badge(
        client, f"/badges/{s['ns']}/lib/1.0.0/policies/fortran/other.svg"
    )
    unknown = client.get(f"/badges/{s['ns']}/lib/policies/nobody/default.svg")
    assert (
        unknown.status_code == 404 and unknown.json()["errors"][0]["code"] == "community-not-found"
    )

    page = client.get(f"/project/{s['ns']}/lib/1.0.0")
    assert page.status_code == 200
    assert f"{HOST}{pinned}" in page.text
    assert f"{HOST}{_credential_path(s)}" in page.text  # the badge links to its credential
