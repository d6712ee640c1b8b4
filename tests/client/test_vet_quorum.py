"""A quorum of distinct organisations with `fpmreg vet` against a live registry
(docs/organisations.md, "Quorums"): two accepted audits by members of one endorsed
organisation do not pass a policy that wants two organisations; an audit by a member the
organisation does not endorse names no organisation and does not help; an audit by a
member of a second endorsed organisation passes it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from fpmreg.server.accounts.models import Scope
from tests.client.conftest import fpmreg
from tests.client.pinning import NAMESPACE, publish, token_for, write_project
from tests.support.live import LiveServer


def _call(server: LiveServer, method: str, path: str, token: str, body: Any) -> Any:
    answer = httpx.request(
        method,
        f"{server.url}/api/v1{path}",
        json=body,
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert answer.status_code in (200, 201), answer.text
    return answer.json()


def _people(server: LiveServer, *names: str) -> dict[str, str]:
    return {n: server.publisher_token(f"{n}-ns", n, {Scope.MANAGE}) for n in names}


def _organisation(
    server: LiveServer,
    t: dict[str, str],
    name: str,
    admin: str,
    endorsed: list[str],
    members: list[str],
) -> None:
    _call(server, "POST", "/organisations", t[admin], {"name": name, "title": name.title()})
    for who in members:
        _call(
            server,
            "PUT",
            f"/organisations/{name}/members",
            t[admin],
            {"username": who, "role": "member"},
        )
    for who in endorsed:
        _call(
            server,
            "POST",
            f"/organisations/{name}/endorsements",
            t[admin],
            {"subject": f"{server.url}/ap/users/{who}", "kind": "auditor"},
        )


def _audit(server: LiveServer, t: dict[str, str], who: str) -> dict[str, Any]:
    audit = _call(
        server,
        "POST",
        "/communities/fortran/audits",
        t[who],
        {"package": f"{NAMESPACE}/numkit", "version": "1.0.0", "criteria": ["safe-to-run"]},
    )
    _call(
        server,
        "POST",
        f"/communities/fortran/audits/{audit['id']}/decision",
        t["reviewer"],
        {"accept": True},
    )
    return dict(audit["body"])


def test_a_quorum_of_two_organisations_needs_two_endorsed_organisations(
    live_server: LiveServer, tmp_path: Path
) -> None:
    t = _people(live_server, "founder", "reviewer", "ann", "ada", "abe", "bea", "boss")
    c = "/communities/fortran"
    uri = _call(
        live_server, "POST", "/communities", t["founder"], {"name": "fortran", "title": "Fortran"}
    )["uri"]
    _call(live_server, "PUT", f"{c}/criteria/safe-to-run", t["founder"], {"description": "runs"})
    _call(
        live_server,
        "PUT",
        f"{c}/members",
        t["founder"],
        {"username": "reviewer", "role": "reviewer"},
    )
    _call(
        live_server,
        "PUT",
        f"{c}/policies/two-orgs",
        t["founder"],
        {
            "policy": {
                "requires": {"roots": [f"{uri}/criteria/safe-to-run"]},
                "quorum": {"count": 2, "distinctOrganisations": True},
            }
        },
    )
    # acme endorses ann and ada, not abe (a member all the same); beta endorses bea
    _organisation(live_server, t, "acme", "founder", ["ann", "ada"], ["ann", "ada", "abe"])
    _organisation(live_server, t, "beta", "boss", ["bea"], ["bea"])

    token = token_for(live_server)
    publish(live_server, token, "numkit", "1.0.0")
    project = write_project(tmp_path / "app", {"numkit": ""})
    assert fpmreg("lock", "-C", project, "--registry", live_server.url).exit_code == 0
    (project / "fpm-vet").mkdir()
    (project / "fpm-vet" / "config.toml").write_text(f'policies = ["{uri}/policies/two-orgs"]\n')

    acme = f"{live_server.url}/orgs/acme"
    assert _audit(live_server, t, "ann")["organisations"] == [acme]
    assert _audit(live_server, t, "ada")["organisations"] == [acme]
    assert "organisations" not in _audit(live_server, t, "abe")  # member, not endorsed
    one_org = fpmreg("vet", "-C", project)
    assert one_org.exit_code == 1, one_org.output  # three audits, one organisation
    assert f"FAIL pkg:fpm/{NAMESPACE}/numkit@1.0.0" in one_org.stdout
    assert "1 of the 2 independent certifications from distinct organisations" in one_org.stdout

    assert _audit(live_server, t, "bea")["organisations"] == [f"{live_server.url}/orgs/beta"]
    two_orgs = fpmreg("vet", "-C", project)
    assert two_orgs.exit_code == 0, two_orgs.output
    assert "all 1 locked packages pass 1 policies" in two_orgs.stdout
