"""Proxy registries (docs/communities.md, "Proxy registries"): `/c/{community}/fpm`
serves fpm only the releases whose current verdict under the community's policy
`default` is PASSED, and refuses the others in fpm's envelope, naming the policy."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from fpmreg.core.fpmjson import fpm_json_problems
from fpmreg.server.accounts.models import Scope
from fpmreg.server.packages.models import Package
from fpmreg.server.storage import BlobStore
from tests.factories import make_owner_token, make_publisher, publish
from tests.support.activitypub import (
    Remote,
    follow_activity,
    live_registry,
    serve_remote,
    signed_post,
)
from tests.support.live import LiveServer
from tests.support.tarballs import package_tarball

C = "/api/v1/communities/fortran"
PROXY = "/c/fortran/fpm"
HOST = "http://testserver"
POLICY_URI = f"{HOST}/c/fortran/policies/default"


def _user(session: Session) -> tuple[str, dict[str, str]]:
    someone = make_publisher(session)
    token = make_owner_token(session, someone)
    return someone.user.username, {"Authorization": f"Bearer {token}"}


def _setup(client: TestClient, session: Session, store: BlobStore) -> dict[str, Any]:
    """Community `fortran` with criterion `safe-to-run` and policy `default`; `lib`
    1.0.0 and 1.1.0 published, and an accepted audit of 1.0.0 only."""
    _, founder = _user(session)
    _, auditor = _user(session)
    made = client.post("/api/v1/communities", headers=founder,
                       json={"name": "fortran", "title": "Fortran"})  # fmt: skip
    uri = made.json()["uri"]
    client.put(f"{C}/criteria/safe-to-run", headers=founder, json={"description": "runs"})
    roots = {"roots": [f"{uri}/criteria/safe-to-run"]}
    policy = client.put(f"{C}/policies/default", headers=founder,
                        json={"policy": {"requires": roots}})  # fmt: skip
    assert policy.status_code == 200, policy.text
    owner = make_publisher(session)
    one = publish(session, store, owner, "lib", "1.0.0")
    two = publish(session, store, owner, "lib", "1.1.0")
    s = {"founder": founder, "auditor": auditor, "ns": owner.namespace.name, "owner": owner,
         "sha": {"1.0.0": one.sha256, "1.1.0": two.sha256}}  # fmt: skip
    _accept(client, s, version="1.0.0")
    return s


def _accept(client: TestClient, s: dict[str, Any], **fields: str) -> None:
    body = {"package": f"{s['ns']}/lib", "criteria": ["safe-to-run"], **fields}
    made = client.post(f"{C}/audits", headers=s["auditor"], json=body)
    assert made.status_code == 201, made.text
    done = client.post(f"{C}/audits/{made.json()['id']}/decision", headers=s["founder"],
                       json={"accept": True})  # fmt: skip
    assert done.status_code == 200, done.text


def _fpm(client: TestClient, path: str) -> dict[str, Any]:
    """An fpm answer, checked against fpm's strict JSON dialect."""
    answer = client.get(path)
    assert answer.headers["content-type"] == "application/json", answer.text
    assert fpm_json_problems(answer.content) == [], answer.content
    body: dict[str, Any] = answer.json()
    assert isinstance(body["code"], int)
    assert body["code"] == answer.status_code
    return body


def test_latest_is_the_newest_passing_release_and_lists_only_passing_versions(
    client: TestClient, session: Session, store: BlobStore
) -> None:
    s = _setup(client, session, store)
    main = _fpm(client, f"/packages/{s['ns']}/lib")
    assert main["data"]["latest_version_data"]["version"] == "1.1.0"  # the main API

    body = _fpm(client, f"{PROXY}/packages/{s['ns']}/lib")

    assert body["code"] == 200
    latest = body["data"]["latest_version_data"]
    assert latest["version"] == "1.0.0" and latest["sha256"] == s["sha"]["1.0.0"]
    assert latest["download_url"] == f"{PROXY}/tarballs/{s['ns']}/lib/1.0.0.tar.gz"
    assert body["data"]["version_history"] == ["1.0.0"]
    pinned = _fpm(client, f"{PROXY}/packages/{s['ns']}/lib/1.0")  # `1.0` finds 1.0.0
    assert pinned["data"]["version_data"]["version"] == "1.0.0"
    tarball = client.get(latest["download_url"])
    assert tarball.status_code == 200 and tarball.headers["content-type"] == "application/gzip"
    assert hashlib.sha256(tarball.content).hexdigest() == s["sha"]["1.0.0"]
    head = client.head(latest["download_url"])
    assert head.status_code == 200 and head.content == b""


def test_a_failing_release_is_refused_naming_the_policy_and_the_passing_versions(
    client: TestClient, session: Session, store: BlobStore
) -> None:
    s = _setup(client, session, store)

    body = _fpm(client, f"{PROXY}/packages/{s['ns']}/lib/1.1.0")

    assert body["code"] == 403 and "data" not in body
    message = body["message"]
    assert message.startswith(f"{s['ns']}/lib 1.1.0 does not pass policy `default` of "
                              f"community `fortran` ({POLICY_URI}): ")  # fmt: skip
    assert "safe-to-run" in message  # the verdict's first reason: not certified
    assert message.endswith("versions that pass: 1.0.0")
    tarball = client.get(f"{PROXY}/tarballs/{s['ns']}/lib/1.1.0.tar.gz")
    assert tarball.status_code == 403 and tarball.json() == body  # never its bytes
    assert client.head(f"{PROXY}/tarballs/{s['ns']}/lib/1.1.0.tar.gz").status_code == 403


def test_a_delta_audit_makes_the_newer_release_the_latest(
    client: TestClient, session: Session, store: BlobStore
) -> None:
    s = _setup(client, session, store)
    _accept(client, s, version="1.1.0", delta_from="1.0.0")

    body = _fpm(client, f"{PROXY}/packages/{s['ns']}/lib")

    assert body["data"]["latest_version_data"]["version"] == "1.1.0"
    assert body["data"]["version_history"] == ["1.1.0", "1.0.0"]
    tarball = client.get(f"{PROXY}/tarballs/{s['ns']}/lib/1.1.0.tar.gz")
    assert hashlib.sha256(tarball.content).hexdigest() == s["sha"]["1.1.0"]


def test_a_package_without_a_passing_release_is_refused_with_the_newest_reason(
    client: TestClient, session: Session, store: BlobStore
) -> None:
    s = _setup(client, session, store)
    other = publish(session, store, s["owner"], "other", "2.0.0")

    body = _fpm(client, f"{PROXY}/packages/{s['ns']}/other")

    assert body["code"] == 403
    assert body["message"].startswith(f"{s['ns']}/other {other.version} does not pass policy")
    assert body["message"].endswith("no version passes yet")


@pytest.mark.parametrize(
    ("path", "code", "words"),
    [
        pytest.param("/c/ghost/fpm/packages/{ns}/lib", 404,
                     "there is no community `ghost` on this registry", id="unknown-community"),
        pytest.param(PROXY + "/packages/{ns}/ghost", 404, "not found", id="unknown-package"),
        pytest.param(PROXY + "/packages/{ns}/lib/9.9.9", 404, "no version `9.9.9`",
                     id="unknown-version"),
        pytest.param(PROXY + "/packages/{ns}/lib/x.y", 400, "", id="bad-version"),
        pytest.param(PROXY + "/tarballs/{ns}/lib/1.0.0.zip", 404, "names end in `.tar.gz`",
                     id="not-a-tarball-name"),
        pytest.param(PROXY + "/no/such/route/here", 404, "nothing at", id="unknown-route"),
    ],
)  # fmt: skip
def test_unknown_things_answer_fpm_envelopes(
    client: TestClient, session: Session, store: BlobStore, path: str, code: int, words: str
) -> None:
    s = _setup(client, session, store)

    body = _fpm(client, path.format(ns=s["ns"]))

    assert body["code"] == code and words in body["message"], body


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "QUERY"])
def test_other_methods_are_405_envelopes_not_page_csrf_refusals(
    client: TestClient, method: str
) -> None:
    for path in (f"{PROXY}/packages/acme/lib", f"{PROXY}/tarballs/acme/lib/1.0.0.tar.gz"):
        answer = client.request(method, path)
        assert answer.status_code == 405, answer.text
        assert answer.json()["code"] == 405 and "GET" in answer.headers["allow"]


def test_a_community_without_a_default_policy_says_what_to_publish(
    client: TestClient, session: Session
) -> None:
    _, founder = _user(session)
    client.post("/api/v1/communities", headers=founder, json={"name": "bare", "title": "Bare"})

    body = _fpm(client, "/c/bare/fpm/packages/acme/lib")

    assert body["code"] == 404
    assert "has no policy `default`" in body["message"]
    assert f"{HOST}/c/bare/policies/default" in body["message"]


def test_a_trailing_slash_in_the_url_is_tolerated_without_a_redirect(
    client: TestClient, session: Session, store: BlobStore
) -> None:
    s = _setup(client, session, store)

    answer = client.get(f"{PROXY}//packages/{s['ns']}/lib", follow_redirects=False)

    assert answer.status_code == 200
    assert answer.json()["data"]["latest_version_data"]["version"] == "1.0.0"


def test_quarantine_applies_through_the_proxy(
    client: TestClient, session: Session, store: BlobStore
) -> None:
    s = _setup(client, session, store)
    package = session.scalar(select(Package).where(Package.name == "lib"))
    assert package is not None
    package.quarantined_at = package.created_at  # as a moderator's quarantine sets it
    session.commit()

    for path in (f"{PROXY}/packages/{s['ns']}/lib",
                 f"{PROXY}/tarballs/{s['ns']}/lib/1.0.0.tar.gz"):  # fmt: skip
        body = _fpm(client, path)
        assert body["code"] == 403 and "under review" in body["message"], body


def test_the_community_page_shows_the_proxy_url_and_the_fpm_config(
    client: TestClient, session: Session, store: BlobStore
) -> None:
    _setup(client, session, store)

    page = client.get("/c/fortran")

    assert page.status_code == 200
    assert f"{HOST}/c/fortran/fpm" in page.text
    assert f'url = "{HOST}/c/fortran/fpm"' in page.text.replace("&#34;", '"')


def test_the_group_announces_each_release_once_it_passes_the_default_policy(
    tmp_path: Path,
) -> None:
    with serve_remote() as remote:
        for b in live_registry(tmp_path, "b", FPMREG_FEDERATION_ALLOW_PRIVATE="true"):
            _announced(b, remote)


def _announced(b: LiveServer, remote: Remote) -> None:
    """`alpha/lib` 1.0.0 (published by `live_registry`) passes, then 1.1.0 is published
    (fails: no Announce) and passes after a delta audit: one Announce of each verdict."""
    auth = {n: {"Authorization": f"Bearer {b.publisher_token(n + '-ns', n, {Scope.MANAGE})}"}
            for n in ("founder", "auditor")}  # fmt: skip
    api = f"{b.url}{C}"
    uri = httpx.post(f"{b.url}/api/v1/communities", headers=auth["founder"],
                     json={"name": "fortran", "title": "Fortran"}).json()["uri"]  # fmt: skip
    httpx.put(f"{api}/criteria/safe-to-run", headers=auth["founder"], json={"description": "r"})
    roots = {"roots": [f"{uri}/criteria/safe-to-run"]}
    for slug in ("default", "other"):  # only `default` is announced
        put = httpx.put(f"{api}/policies/{slug}", headers=auth["founder"],
                        json={"policy": {"requires": roots}})  # fmt: skip
        assert put.status_code == 200, put.text
    follow = follow_activity(remote, uri)
    assert signed_post(f"{b.url}/ap/communities/fortran/inbox", follow, remote.key_id
                       ).status_code == 202  # fmt: skip
    remote.wait_for(1)

    def accept(version: str, **fields: str) -> None:
        made = httpx.post(
            f"{api}/audits",
            headers=auth["auditor"],
            json={
                "package": "alpha/lib",
                "version": version,
                "criteria": ["safe-to-run"],
                **fields,
            },
        )
        done = httpx.post(f"{api}/audits/{made.json()['id']}/decision",
                          headers=auth["founder"], json={"accept": True})  # fmt: skip
        assert done.status_code == 200, done.text

    accept("1.0.0")
    owner = {"Authorization": f"Bearer {b.publisher_token('alpha')}"}
    tarball = package_tarball("lib", "1.1.0")
    published = httpx.post(f"{b.url}/api/v1/packages", headers=owner,
                           files={"tarball": ("t.tar.gz", tarball)})  # fmt: skip
    assert published.status_code == 201, published.text
    accept("1.1.0", delta_from="1.0.0")
    remote.wait_for(5)  # the Accept, then an audit's Announce and a verdict's, twice
    time.sleep(2)  # and nothing more arrives
    activities = remote.wait_for(0)

    assert len(activities) == 5, activities
    verdicts = [a for a in activities
                if a["type"] == "Announce" and a["object"]["type"] == "Document"]  # fmt: skip
    subjects = [a["object"]["fpmregVerdict"]["subject"][0]["name"] for a in verdicts]
    assert sorted(subjects) == ["pkg:fpm/alpha/lib@1.0.0", "pkg:fpm/alpha/lib@1.1.0"]
    for activity in verdicts:
        verdict = activity["object"]
        assert activity["actor"] == uri and verdict["attributedTo"] == uri
        served = httpx.get(verdict["id"])
        assert served.json() == verdict["fpmregVerdict"]
        predicate = verdict["fpmregVerdict"]["predicate"]
        assert predicate["verificationResult"] == "PASSED"
        assert predicate["policy"]["uri"].startswith(f"{uri}/policies/default/")
        version = verdict["fpmregVerdict"]["subject"][0]["name"].rpartition("@")[2]
        assert verdict["context"] == f"{b.url}/project/alpha/lib/{version}"
