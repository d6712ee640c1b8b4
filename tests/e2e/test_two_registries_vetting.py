"""Vetting across two live registries (docs/communities.md, "Verdicts"; docs/vetting.md,
"fpmreg vet"): the community `numerics` on A certifies `reviewed`; the community
`fortran` on B requires `safe-to-deploy` and accepts A's `numerics` through the mapping
`reviewed → safe-to-deploy`. Packages are published on A. An audit offered from A to B's
community is accepted, another rejected with its reason; audits in A's community count
for B's policy, in `fpmreg vet` (online and `--locked` offline) and in B's own signed
verdicts; a delta audit covers a new release; a revoked audit fails the policy again."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from fpmreg.server.accounts.models import Scope
from fpmreg.server.db import Database
from tests.client.conftest import fpmreg, isolated  # noqa: F401  (the client's environment)
from tests.client.pinning import NAMESPACE, publish, token_for, write_project
from tests.support.activitypub import live_registry
from tests.support.live import LiveServer

pytestmark = pytest.mark.usefixtures("isolated")

PRIVATE = {"FPMREG_FEDERATION_ALLOW_PRIVATE": "true"}
# B imports A's evidence again every second, so the test sees each change quickly.
REFRESH = {"FPMREG_EVIDENCE_REFRESH_SECONDS": "1"}
MANAGE = {Scope.MANAGE}


@pytest.fixture
def registries(tmp_path: Path) -> Iterator[tuple[LiveServer, LiveServer]]:
    for a in live_registry(tmp_path, "a", **PRIVATE):
        for b in live_registry(tmp_path, "b", **PRIVATE, **REFRESH):
            yield a, b


def _call(server: LiveServer, method: str, path: str, token: str, body: Any = None) -> Any:
    answer = httpx.request(method, f"{server.url}/api/v1{path}", json=body, timeout=60,
                           headers={"Authorization": f"Bearer {token}"})  # fmt: skip
    assert answer.status_code in (200, 201, 202), answer.text
    return answer.json()


def _wait(check: Any, seconds: float = 60) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if found := check():
            return found
        time.sleep(0.3)
    raise AssertionError("timed out")


def _numerics(a: LiveServer) -> dict[str, str]:
    """`numerics` on A: the criterion `reviewed`, a reviewer and an auditor."""
    founder = a.publisher_token("numfounders", "numfounder", MANAGE)
    reviewer = a.publisher_token("numreviewers", "numreviewer", MANAGE)
    auditor = a.publisher_token("auditors", "alice", MANAGE)
    uri = _call(a, "POST", "/communities", founder, {"name": "numerics", "title": "Numerics"})
    _call(a, "PUT", "/communities/numerics/criteria/reviewed", founder,
          {"description": "a person read it"})  # fmt: skip
    _call(a, "PUT", "/communities/numerics/members", founder,
          {"username": "numreviewer", "role": "reviewer"})  # fmt: skip
    return {"uri": uri["uri"], "founder": founder, "reviewer": reviewer, "auditor": auditor}


def _fortran(b: LiveServer, numerics: str) -> dict[str, str]:
    """`fortran` on B: `safe-to-deploy` implies `safe-to-run`; its default policy requires
    `safe-to-deploy` and accepts A's `numerics` reading `reviewed` as `safe-to-deploy`."""
    founder = b.publisher_token("founders", "founder", MANAGE)
    reviewer = b.publisher_token("reviewers", "rev", MANAGE)
    uri = _call(b, "POST", "/communities", founder, {"name": "fortran", "title": "Fortran"})["uri"]
    c = "/communities/fortran"
    _call(b, "PUT", f"{c}/criteria/safe-to-run", founder, {"description": "runs"})
    _call(b, "PUT", f"{c}/criteria/safe-to-deploy", founder,
          {"description": "deploys", "implies": [f"{uri}/criteria/safe-to-run"]})  # fmt: skip
    _call(b, "PUT", f"{c}/members", founder, {"username": "rev", "role": "reviewer"})
    mapping = {"from": f"{numerics}/criteria/reviewed", "to": f"{uri}/criteria/safe-to-deploy"}
    policy = {"requires": {"roots": [f"{uri}/criteria/safe-to-deploy"]},
              "acceptFrom": [{"community": numerics, "mappings": [mapping]}]}  # fmt: skip
    _call(b, "PUT", f"{c}/policies/default", founder, {"policy": policy})
    return {"uri": uri, "founder": founder, "reviewer": reviewer,
            "policy": f"{uri}/policies/default"}  # fmt: skip


def _numerics_audit(a: LiveServer, n: dict[str, str], version: str, delta_from: str = "") -> int:
    """An audit of `pin/numkit` in A's `numerics`, submitted (not yet accepted)."""
    body = {"package": f"{NAMESPACE}/numkit", "version": version, "criteria": ["reviewed"],
            "thoroughness": "high", "understanding": "high"}  # fmt: skip
    if delta_from:
        body["delta_from"] = delta_from
    return int(_call(a, "POST", "/communities/numerics/audits", n["auditor"], body)["id"])


def _decide(server: LiveServer, community: str, number: int, token: str, **how: Any) -> None:
    _call(server, "POST", f"/communities/{community}/audits/{number}/decision", token, how)


def _offer(a: LiveServer, auditor: str, community: str, thoroughness: str) -> int:
    """An audit of `pin/numkit` 1.0.0 offered from A to B's community; its submission id."""
    offered = _call(a, "POST", "/submissions", auditor,
                    {"community": community, "package": f"{NAMESPACE}/numkit",
                     "version": "1.0.0", "criteria": ["safe-to-run"],
                     "thoroughness": thoroughness})  # fmt: skip
    assert offered["status"] == "pending"
    return int(offered["id"])


def _answered(a: LiveServer, auditor: str, submission: int) -> Any:
    url = f"{a.url}/api/v1/submissions/{submission}"
    headers = {"Authorization": f"Bearer {auditor}"}
    return _wait(lambda: (r := httpx.get(url, headers=headers).json())["status"] != "pending" and r)


def _offers_are_answered(
    a: LiveServer, b: LiveServer, n: dict[str, str], f: dict[str, str]
) -> None:
    """One audit offered to B's community is accepted, another rejected with a reason."""
    first = _offer(a, n["auditor"], f["uri"], "high")
    (queued,) = httpx.get(b.url + "/api/v1/communities/fortran/audits",
                          params={"status": "submitted"}).json()["audits"]  # fmt: skip
    assert queued["remote_auditor"] == f"{a.url}/ap/users/alice"
    _decide(b, "fortran", queued["id"], f["reviewer"], accept=True)
    accepted = _answered(a, n["auditor"], first)
    assert accepted["status"] == "accepted" and accepted["result"] == queued["uri"]

    second = _offer(a, n["auditor"], f["uri"], "low")
    (queued,) = httpx.get(b.url + "/api/v1/communities/fortran/audits",
                          params={"status": "submitted"}).json()["audits"]  # fmt: skip
    reason = "a glance is not a review"
    _decide(b, "fortran", queued["id"], f["reviewer"], accept=False, reason=reason)
    rejected = _answered(a, n["auditor"], second)
    assert rejected["status"] == "rejected" and rejected["reason"] == reason
    listed = httpx.get(b.url + "/api/v1/communities/fortran/audits",
                       params={"status": "accepted"}).json()["audits"]  # fmt: skip
    assert [x["remote_auditor"] for x in listed] == [f"{a.url}/ap/users/alice"]


def _verdict(b: LiveServer, version: str, result: str) -> dict[str, Any]:
    """B's signed verdict on its copy of `pin/numkit` `version`, once it says `result`."""
    url = f"{b.url}/api/v1/packages/{NAMESPACE}/numkit/{version}/verdicts"

    def check() -> Any:
        found = [v for v in httpx.get(url).json()["verdicts"] if v["policy"].endswith("/default")]
        return found[0] if found and found[0]["result"] == result else None

    return dict(_wait(check))


def _relock(project: Path, registry: str) -> None:
    (project / "fpm.lock").unlink()
    locked = fpmreg("lock", "-C", project, "--registry", registry)
    assert locked.exit_code == 0, locked.output


def _offline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")  # nothing answers there
    monkeypatch.setenv("NO_PROXY", "")


def test_audits_of_a_community_on_another_registry_count_through_the_mapping(
    registries: tuple[LiveServer, LiveServer], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b = registries
    n = _numerics(a)
    f = _fortran(b, n["uri"])
    token = token_for(a)
    publish(a, token, "numkit", "1.0.0")
    project = write_project(tmp_path / "app", {"numkit": ""})
    assert fpmreg("lock", "-C", project, "--registry", a.url).exit_code == 0
    (project / "fpm-vet").mkdir()
    (project / "fpm-vet" / "config.toml").write_text(f'policies = ["{f["policy"]}"]\n')
    release = f"pkg:fpm/{NAMESPACE}/numkit@1.0.0"

    publish(b, token_for(b), "numkit", "1.0.0")  # B serves the same bytes as A
    _verdict(b, "1.0.0", "FAILED")

    _offers_are_answered(a, b, n, f)
    unaudited = fpmreg("vet", "-C", project)  # B's accepted audit says `safe-to-run` only
    assert unaudited.exit_code == 1, unaudited.output
    assert f"FAIL {release}" in unaudited.stdout and "safe-to-deploy" in unaudited.stdout

    full = _numerics_audit(a, n, "1.0.0")
    _decide(a, "numerics", full, n["reviewer"], accept=True)
    passed = fpmreg("vet", "-C", project)
    assert passed.exit_code == 0, passed.output
    assert "all 1 locked packages pass 1 policies" in passed.stdout
    verdict = _verdict(b, "1.0.0", "PASSED")  # A's audit, imported by B and verified
    audit_uri = f"{n['uri']}/audits/{full}"
    assert audit_uri in [i["uri"] for i in verdict["inputs"]]
    (imported,) = httpx.get(b.url + "/api/v1/communities/fortran/imports").json()["imports"]
    assert imported["community"] == n["uri"] and imported["status"] == "imported"
    assert imported["criteria"] == 1 and imported["audits"] >= 1

    publish(a, token, "numkit", "1.1.0")
    publish(b, token_for(b), "numkit", "1.1.0")
    _verdict(b, "1.1.0", "FAILED")
    _relock(project, a.url)
    newer = f"pkg:fpm/{NAMESPACE}/numkit@1.1.0"
    uncovered = fpmreg("vet", "-C", project)
    assert uncovered.exit_code == 1 and f"FAIL {newer}" in uncovered.stdout, uncovered.output
    assert f"{NAMESPACE}/numkit 1.0.0 → 1.1.0" in uncovered.stdout  # the cheapest fix: a delta
    delta = _numerics_audit(a, n, "1.1.0", delta_from="1.0.0")
    assert fpmreg("vet", "-C", project).exit_code == 1  # submitted is not accepted
    _decide(a, "numerics", delta, n["reviewer"], accept=True)
    chained = fpmreg("vet", "-C", project)
    assert chained.exit_code == 0, chained.output
    _verdict(b, "1.1.0", "PASSED")

    _call(a, "POST", f"/communities/numerics/audits/{full}/revoke", n["founder"],
          {"reason": "the C binding was missed"})  # fmt: skip
    _offline(monkeypatch)
    offline = fpmreg("vet", "-C", project, "--locked")
    assert offline.exit_code == 0, offline.output  # what was imported, as locked
    assert fpmreg("vet", "-C", project).exit_code == 1  # online needs the registries
    monkeypatch.delenv("HTTP_PROXY")
    revoked = fpmreg("vet", "-C", project)
    assert revoked.exit_code == 1 and f"FAIL {newer}" in revoked.stdout, revoked.output
    _verdict(b, "1.1.0", "FAILED")
    _verdict(b, "1.0.0", "FAILED")


def test_a_remote_community_that_cannot_be_read_is_listed_and_nothing_fails(
    registries: tuple[LiveServer, LiveServer],
) -> None:
    _, b = registries
    founder = b.publisher_token("founders", "founder", MANAGE)
    uri = _call(b, "POST", "/communities", founder, {"name": "fortran", "title": "Fortran"})["uri"]
    _call(b, "PUT", "/communities/fortran/criteria/safe-to-run", founder, {"description": "runs"})
    gone = "http://127.0.0.1:9/c/gone"  # nothing answers there
    policy = {"requires": {"roots": [f"{uri}/criteria/safe-to-run"]},
              "acceptFrom": [{"community": gone}]}  # fmt: skip
    _call(b, "PUT", "/communities/fortran/policies/default", founder, {"policy": policy})

    def failed() -> Any:
        listed = httpx.get(b.url + "/api/v1/communities/fortran/imports").json()["imports"]
        return listed if listed and listed[0]["status"] == "failed" else None

    (listed,) = _wait(failed)
    assert listed["community"] == gone and "127.0.0.1:9" in listed["error"], listed
    assert listed["audits"] == 0 and listed["checked_at"]
    publish(b, token_for(b), "numkit", "1.0.0")  # verdicts go on without it
    assert _verdict(b, "1.0.0", "FAILED")["inputs"] == []


def test_remote_evidence_its_log_does_not_sign_is_refused_and_the_last_import_kept(
    registries: tuple[LiveServer, LiveServer],
) -> None:
    a, b = registries
    n = _numerics(a)
    _fortran(b, n["uri"])
    publish(a, token_for(a), "numkit", "1.0.0")
    publish(b, token_for(b), "numkit", "1.0.0")
    _decide(a, "numerics", _numerics_audit(a, n, "1.0.0"), n["reviewer"], accept=True)
    _verdict(b, "1.0.0", "PASSED")

    database = Database.from_url(a.database_url)
    with database.engine.begin() as conn:  # A's copy changed after it was logged
        conn.execute(text("UPDATE community_audits SET sha256 = :s"), {"s": "0" * 64})
    database.engine.dispose()

    def refused() -> Any:
        (listed,) = httpx.get(b.url + "/api/v1/communities/fortran/imports").json()["imports"]
        return listed if listed["status"] == "failed" else None

    listed = _wait(refused)
    assert "does not hash to its sha256" in listed["error"], listed
    assert listed["audits"] == 1 and listed["imported_at"]  # the last verified import
    assert _verdict(b, "1.0.0", "PASSED")["result"] == "PASSED"
