"""`fpmreg vet` with a policy that limits the auditors' trust distance
(docs/vetting.md, "Trust"): the client runs the Advogato metric itself over the
community's signed trust statements, seeded by its founders, online and `--locked`."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from fpmreg.server.accounts.models import Scope
from tests.client.conftest import fpmreg
from tests.client.test_vet import _api, _audit, _community, _project
from tests.support.live import LiveServer


def _trust(server: LiveServer, token: str, trustee: str, level: str) -> None:
    answer = httpx.put(
        f"{server.url}/api/v1/communities/fortran/trust",
        json={"trustee": trustee, "level": level, "reason": "reviewed with them"},
        headers={"Authorization": f"Bearer {token}"}, timeout=30,
    )  # fmt: skip
    assert answer.status_code in (200, 201), answer.text


def test_audits_count_once_a_founder_trusts_the_auditor_online_and_offline(
    live_server: LiveServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    c = _community(live_server)
    uri = c["uri"]
    _api(live_server, "PUT", "/fortran/policies/trusted", c["founder"],
         {"policy": {"requires": {"roots": [f"{uri}/criteria/safe-to-run"]},
                     "maxTrustDistance": 1}})  # fmt: skip
    project = _project(live_server, tmp_path, f"{uri}/policies/trusted")
    _audit(live_server, c, "numkit")
    _audit(live_server, c, "statkit")

    untrusted = fpmreg("vet", "-C", project)
    assert untrusted.exit_code == 1, untrusted.output
    assert "is not trusted (the policy allows 1)" in untrusted.stdout

    _trust(live_server, c["founder"], "auditor", "medium")
    trusted = fpmreg("vet", "-C", project)
    assert trusted.exit_code == 0, trusted.output
    imported = json.loads((project / "fpm-vet" / "imports.lock").read_text())
    part = imported["communities"][uri]
    assert part["founders"] == [f"{live_server.url}/ap/users/founder"]
    (statement,) = part["trust"]
    assert statement["body"]["trustee"] == f"{live_server.url}/ap/users/auditor"

    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")  # nothing answers: offline
    monkeypatch.setenv("NO_PROXY", "")
    offline = fpmreg("vet", "-C", project, "--locked")
    assert offline.exit_code == 0, offline.output


def test_trust_withdrawn_or_too_far_does_not_count(live_server: LiveServer, tmp_path: Path) -> None:
    c = _community(live_server)
    uri = c["uri"]
    _api(live_server, "PUT", "/fortran/policies/trusted", c["founder"],
         {"policy": {"requires": {"roots": [f"{uri}/criteria/safe-to-run"]},
                     "maxTrustDistance": 1}})  # fmt: skip
    project = _project(live_server, tmp_path, f"{uri}/policies/trusted")
    _audit(live_server, c, "numkit")
    _audit(live_server, c, "statkit")
    # founder → reviewer → auditor: the auditor is two hops out, beyond the policy's 1.
    _trust(live_server, c["founder"], "reviewer", "high")
    reviewer = live_server.publisher_token("reviewers", "reviewer", {Scope.MANAGE})
    _api(live_server, "PUT", "/fortran/members", c["founder"],
         {"username": "reviewer", "role": "reviewer"})  # fmt: skip
    _trust(live_server, reviewer, "auditor", "high")
    assert fpmreg("vet", "-C", project).exit_code == 1

    _trust(live_server, c["founder"], "auditor", "low")
    assert fpmreg("vet", "-C", project).exit_code == 0
    _trust(live_server, c["founder"], "auditor", "none")  # withdrawn: the last counts
    assert fpmreg("vet", "-C", project).exit_code == 1
