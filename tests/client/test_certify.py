"""`fpmreg certify` against a real registry process: a delta audit for a community on
the same registry shows the sha256s and the diff it is bound to, lands in the
community's queue with those digests, and a community that cannot be reached is a
clear error; and one for a community on another registry goes there as an `Offer`
(docs/commands.md, "fpmreg certify")."""

from __future__ import annotations

from pathlib import Path

import httpx

from fpmreg.server.accounts.models import Scope
from tests.client.conftest import fpmreg
from tests.client.pinning import NAMESPACE, token_for
from tests.client.test_audit_diff import SOURCE, publish_files
from tests.support.activitypub import live_registry
from tests.support.live import LiveServer

PRIVATE = {"FPMREG_FEDERATION_ALLOW_PRIVATE": "true"}


def _community(server: LiveServer) -> str:
    founder = server.publisher_token("founders", "founder", {Scope.MANAGE})
    auth = {"Authorization": f"Bearer {founder}"}
    made = httpx.post(f"{server.url}/api/v1/communities", headers=auth,
                      json={"name": "fortran", "title": "Fortran"})  # fmt: skip
    assert made.status_code == 201, made.text
    put = httpx.put(f"{server.url}/api/v1/communities/fortran/criteria/safe-to-run",
                    headers=auth, json={"description": "runs"})  # fmt: skip
    assert put.status_code in (200, 201), put.text
    return str(made.json()["uri"])


def test_certify_submits_a_delta_audit_bound_to_both_tarballs(live_server: LiveServer) -> None:
    token = token_for(live_server)
    old = publish_files(live_server, token, "1.0.0", {"src/numkit.f90": SOURCE})
    new = publish_files(live_server, token, "1.1.0", {"src/numkit.f90": SOURCE + "! more\n"})
    uri = _community(live_server)
    auditor = live_server.publisher_token("auditors", "alice", {Scope.MANAGE})

    run = fpmreg(
        "certify",
        f"{NAMESPACE}/numkit",
        "1.1.0",
        "--community",
        uri,
        "--criteria",
        "safe-to-run",
        "--delta-from",
        "1.0.0",
        "--thoroughness",
        "high",
        "--notes",
        "one comment line added",
        "--registry",
        live_server.url,
        "--token",
        auditor,
    )
    assert run.exit_code == 0, run.stderr
    assert old in run.stdout and new in run.stdout
    # fpm.toml (the version line) and the source (the comment)
    assert "diff 1.0.0 → 1.1.0: 2 files, +2 -1 lines" in run.stdout
    assert "submitted audit 1 to community `fortran`: submitted" in run.stdout

    (audit,) = httpx.get(f"{live_server.url}/api/v1/communities/fortran/audits").json()["audits"]
    assert audit["auditor"] == "alice" and audit["status"] == "submitted"
    assert audit["body"]["deltaFrom"]["sha256"] == old
    assert audit["body"]["deltaTo"]["sha256"] == new
    assert audit["body"]["thoroughness"] == "high"

    by_name = fpmreg(
        "certify",
        f"{NAMESPACE}/numkit",
        "1.0.0",
        "--community",
        "fortran",
        "--criteria",
        "safe-to-fly",
        "--registry",
        live_server.url,
        "--token",
        auditor,
    )
    assert by_name.exit_code != 0 and "safe-to-fly" in by_name.stderr

    away = fpmreg(
        "certify",
        f"{NAMESPACE}/numkit",
        "1.0.0",
        "--community",
        "http://127.0.0.1:1/c/nowhere",
        "--criteria",
        "safe-to-run",
        "--registry",
        live_server.url,
        "--token",
        auditor,
    )
    assert away.exit_code != 0 and "nowhere" in away.stderr


def test_certify_offers_the_audit_to_a_community_on_another_registry(tmp_path: Path) -> None:
    for a in live_registry(tmp_path, "a", **PRIVATE):
        for b in live_registry(tmp_path, "b", **PRIVATE):
            uri = _community(b)
            auditor = a.publisher_token("auditors", "alice", {Scope.MANAGE})
            run = fpmreg(
                "certify",
                "alpha/lib",
                "1.0.0",
                "--community",
                uri,
                "--criteria",
                "safe-to-run",
                "--registry",
                a.url,
                "--token",
                auditor,
            )
            assert run.exit_code == 0, run.stderr
            assert f"offered to `{uri}` as submission 1: pending" in run.stdout
            (queued,) = httpx.get(f"{b.url}/api/v1/communities/fortran/audits").json()["audits"]
            assert queued["remote_auditor"] == f"{a.url}/ap/users/alice"
            sha = httpx.get(f"{a.url}/api/v1/packages/alpha/lib/versions/1.0.0").json()["sha256"]
            assert sha in run.stdout and queued["body"]["subject"]["sha256"] == sha
