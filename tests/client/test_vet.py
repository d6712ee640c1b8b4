"""`fpmreg vet` against a real registry (docs/vetting.md, "fpmreg vet"): a lock fails
a community's policy until its releases have accepted audits, then passes; `--locked`
works offline from `imports.lock`; a revoked audit fails it again; content that does not
match its signed log record is refused."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from fpmreg.core.lockfile import Lock, dumps
from fpmreg.server.accounts.models import Scope
from fpmreg.server.db import Database
from tests.client.conftest import fpmreg
from tests.client.pinning import NAMESPACE, publish, token_for, write_project
from tests.support.live import LiveServer


def _api(server: LiveServer, method: str, path: str, token: str, body: Any) -> Any:
    answer = httpx.request(method, f"{server.url}/api/v1/communities{path}", json=body,
                           headers={"Authorization": f"Bearer {token}"}, timeout=30)  # fmt: skip
    assert answer.status_code in (200, 201), answer.text
    return answer.json()


def _community(server: LiveServer) -> dict[str, str]:
    founder = server.publisher_token("founders", "founder", {Scope.MANAGE})
    reviewer = server.publisher_token("reviewers", "reviewer", {Scope.MANAGE})
    auditor = server.publisher_token("auditors", "auditor", {Scope.MANAGE})
    uri = _api(server, "POST", "", founder, {"name": "fortran", "title": "Fortran"})["uri"]
    _api(server, "PUT", "/fortran/criteria/safe-to-run", founder, {"description": "runs"})
    _api(server, "PUT", "/fortran/policies/default", founder,
         {"policy": {"requires": {"roots": [f"{uri}/criteria/safe-to-run"]}}})  # fmt: skip
    _api(server, "PUT", "/fortran/members", founder, {"username": "reviewer", "role": "reviewer"})
    return {"uri": uri, "reviewer": reviewer, "auditor": auditor, "founder": founder}


def _audit(server: LiveServer, c: dict[str, str], name: str) -> int:
    audit = _api(server, "POST", "/fortran/audits", c["auditor"],
                 {"package": f"{NAMESPACE}/{name}", "version": "1.0.0",
                  "criteria": ["safe-to-run"]})  # fmt: skip
    _api(server, "POST", f"/fortran/audits/{audit['id']}/decision", c["reviewer"], {"accept": True})
    return int(audit["id"])


def _project(server: LiveServer, tmp_path: Path, policy: str) -> Path:
    token = token_for(server)
    publish(server, token, "numkit", "1.0.0")
    publish(server, token, "statkit", "1.0.0", {"numkit": ""})
    project = write_project(tmp_path / "app", {"statkit": ""})
    assert fpmreg("lock", "-C", project, "--registry", server.url).exit_code == 0
    (project / "fpm-vet").mkdir()
    (project / "fpm-vet" / "config.toml").write_text(f'policies = ["{policy}"]\n')
    return project


def test_vet_fails_until_the_releases_are_audited_then_passes_online_and_offline(
    live_server: LiveServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    c = _community(live_server)
    project = _project(live_server, tmp_path, f"{c['uri']}/policies/default")

    unaudited = fpmreg("vet", "-C", project)
    assert unaudited.exit_code == 1, unaudited.output
    assert f"FAIL pkg:fpm/{NAMESPACE}/numkit@1.0.0" in unaudited.stdout
    assert f"fix: a full audit of {NAMESPACE}/numkit 1.0.0" in unaudited.stdout
    assert "1 of 1 policies not passed" in unaudited.stderr

    _audit(live_server, c, "numkit")
    first = _audit(live_server, c, "statkit")
    audited = fpmreg("vet", "-C", project)
    assert audited.exit_code == 0, audited.output
    assert "all 2 locked packages pass 1 policies" in audited.stdout
    imported = json.loads((project / "fpm-vet" / "imports.lock").read_text())
    (community,) = imported["communities"].values()
    assert len(community["audits"]) == 2 and len(community["criteria"]) == 1

    _api(live_server, "POST", f"/fortran/audits/{first}/revoke", c["auditor"],
         {"reason": "missed a C binding"})  # fmt: skip
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")  # nothing answers: offline
    monkeypatch.setenv("NO_PROXY", "")
    offline = fpmreg("vet", "-C", project, "--locked")
    assert offline.exit_code == 0, offline.output  # what was imported, as locked
    assert fpmreg("vet", "-C", project).exit_code == 1  # online needs the registry
    monkeypatch.delenv("HTTP_PROXY")

    revoked = fpmreg("vet", "-C", project)
    assert revoked.exit_code == 1 and f"FAIL pkg:fpm/{NAMESPACE}/statkit@1.0.0" in revoked.stdout


def test_vet_refuses_content_its_log_record_does_not_sign(
    live_server: LiveServer, tmp_path: Path
) -> None:
    c = _community(live_server)
    project = _project(live_server, tmp_path, f"{c['uri']}/policies/default")
    _audit(live_server, c, "numkit")
    database = Database.from_url(live_server.database_url)
    with database.engine.begin() as conn:  # the registry's copy changed after it was logged
        conn.execute(text("UPDATE community_audits SET body = replace(body, 'safe-to-run', "
                          "'safe-to-run') || ''"))  # fmt: skip
        conn.execute(text("UPDATE community_audits SET sha256 = :s"), {"s": "0" * 64})
    database.engine.dispose()

    run = fpmreg("vet", "-C", project)
    assert run.exit_code == 1
    assert "does not hash to its sha256" in run.stderr


def test_vet_says_what_to_write_without_a_config_or_with_a_bad_one(tmp_path: Path) -> None:
    project = write_project(tmp_path / "app", {})
    missing = fpmreg("vet", "-C", project)
    assert missing.exit_code == 2 and "policies = [" in missing.stderr
    (project / "fpm-vet").mkdir()
    (project / "fpm-vet" / "config.toml").write_text("policies = 3\n")
    bad = fpmreg("vet", "-C", project)
    assert bad.exit_code == 2 and "must be a list of policy URLs" in bad.stderr
    (project / "fpm-vet" / "config.toml").write_text('policies = ["https://r.example/p"]\n')
    (project / "fpm.lock").write_text(dumps(Lock()))
    locked = fpmreg("vet", "-C", project, "--locked")
    assert locked.exit_code == 2 and "run `fpmreg vet` online once" in locked.stderr


def test_a_policy_requiring_attested_facts_passes_once_the_registry_attests_them(
    live_server: LiveServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    c = _community(live_server)
    uri = c["uri"]
    _api(live_server, "PUT", "/fortran/policies/declared", c["founder"],
         {"policy": {"requires": {"roots": [f"{uri}/criteria/safe-to-run"]},
                     "requiresFacts": ["expectations-declared"]}})  # fmt: skip
    project = _project(live_server, tmp_path, f"{uri}/policies/declared")
    _audit(live_server, c, "numkit")
    _audit(live_server, c, "statkit")

    undeclared = fpmreg("vet", "-C", project)
    assert undeclared.exit_code == 1, undeclared.output
    assert "`expectations-declared` is required and the registry does not attest it" in (
        undeclared.stdout
    )

    owner = live_server.publisher_token(NAMESPACE, scopes={Scope.MANAGE})
    for name in ("numkit", "statkit"):
        declared = httpx.put(
            f"{live_server.url}/api/v1/packages/{NAMESPACE}/{name}/expectations",
            json={"status": "hobby", "response": "no"},
            headers={"Authorization": f"Bearer {owner}"}, timeout=30,
        )  # fmt: skip
        assert declared.status_code == 200, declared.text
    attested = fpmreg("vet", "-C", project)
    assert attested.exit_code == 0, attested.output
    imported = json.loads((project / "fpm-vet" / "imports.lock").read_text())
    assert imported["facts"][f"pkg:fpm/{NAMESPACE}/numkit@1.0.0"]["facts"] == [
        "expectations-declared"
    ]

    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")  # nothing answers: offline
    monkeypatch.setenv("NO_PROXY", "")
    offline = fpmreg("vet", "-C", project, "--locked")
    assert offline.exit_code == 0, offline.output
