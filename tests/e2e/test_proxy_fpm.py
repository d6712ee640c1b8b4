"""The real fpm 0.12.0 client builds through a community's proxy registry
(docs/communities.md, "Proxy registries"): only releases the community's default policy
passes resolve, a failing pin fails with the policy named, and a newly accepted audit
makes the newer release the one an unpinned build gets."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from fpmreg.server.accounts.models import Scope
from tests.e2e.test_fpm_client import (
    EXPECTED_LINE,
    LIBRARY,
    NAMESPACE,
    assert_published,
    publish_library,
    write_app,
)
from tests.support.fpm import OFFICIAL_REGISTRY, Fpm, FpmInstall, output
from tests.support.live import LiveServer

COMMUNITY = "fortran"
API = f"/api/v1/communities/{COMMUNITY}"


class Community:
    """`fortran` on the live server: a founder and an auditor with `manage` tokens."""

    def __init__(self, server: LiveServer) -> None:
        self.server = server
        self.founder = self._token("founder")
        self.auditor = self._token("auditor")

    def _token(self, username: str) -> dict[str, str]:
        token = self.server.publisher_token(f"{username}-ns", username, scopes={Scope.MANAGE})
        return {"Authorization": f"Bearer {token}"}

    def call(self, method: str, path: str, who: dict[str, str], body: object) -> httpx.Response:
        answer = httpx.request(method, self.server.url + path, headers=who, json=body, timeout=30)
        assert answer.status_code in (200, 201), answer.text
        return answer

    def create(self) -> None:
        """The community, criterion `safe-to-run`, and policy `default` requiring it."""
        uri = self.call("POST", "/api/v1/communities", self.founder,
                        {"name": COMMUNITY, "title": "Fortran"}).json()["uri"]  # fmt: skip
        self.call("PUT", f"{API}/criteria/safe-to-run", self.founder, {"description": "runs"})
        self.call("PUT", f"{API}/policies/default", self.founder,
                  {"policy": {"requires": {"roots": [f"{uri}/criteria/safe-to-run"]}}})  # fmt: skip

    def accept_audit(self, version: str, delta_from: str = "") -> None:
        """The auditor's audit of trilib `version`, accepted by the founder."""
        body: dict[str, object] = {"package": f"{NAMESPACE}/{LIBRARY}", "version": version,
                                   "criteria": ["safe-to-run"]}  # fmt: skip
        if delta_from:
            body["delta_from"] = delta_from
        made = self.call("POST", f"{API}/audits", self.auditor, body).json()
        self.call("POST", f"{API}/audits/{made['id']}/decision", self.founder, {"accept": True})


def consumer(fpm_install: FpmInstall, server: LiveServer, root: Path, pin: str) -> tuple[Fpm, Path]:
    """A consumer app and an fpm of its own (own cache) whose `[registry] url` is the proxy."""
    fpm = Fpm(fpm_install, root / "fpm", server.url, config_url=f"{server.url}/c/{COMMUNITY}/fpm")
    pinned = f', v = "{pin}"' if pin else ""
    app = write_app(root / "app", f'{LIBRARY} = {{ namespace = "{NAMESPACE}"{pinned} }}')
    return fpm, app


@pytest.mark.e2e
def test_fpm_builds_through_a_proxy_registry_only_what_the_policy_passes(
    fpm: Fpm, fpm_install: FpmInstall, live_server: LiveServer, tmp_path: Path
) -> None:
    token = live_server.publisher_token(NAMESPACE)
    for version in ("1.0.0", "1.1.0"):
        assert_published(publish_library(fpm, tmp_path / LIBRARY, version, token), version)
    community = Community(live_server)
    community.create()
    community.accept_audit("1.0.0")
    proxy = f"{live_server.url}/c/{COMMUNITY}/fpm"

    # Unpinned: 1.0.0, the newest release that passes, though 1.1.0 is newer.
    unpinned, app = consumer(fpm_install, live_server, tmp_path / "unpinned", "")
    result = unpinned.run("run", cwd=app)
    assert EXPECTED_LINE.format(version="1.0.0") in result.stdout, output(result)
    assert result.returncode == 0, output(result)
    assert [call.url for call in unpinned.curl_calls()] == [
        f"{proxy}/packages/{NAMESPACE}/{LIBRARY}",
        f"{OFFICIAL_REGISTRY}/c/{COMMUNITY}/fpm/tarballs/{NAMESPACE}/{LIBRARY}/1.0.0.tar.gz",
    ]

    # Pinned to the failing 1.1.0: fpm stops and prints the proxy's message.
    pinned, app = consumer(fpm_install, live_server, tmp_path / "pinned", "1.1.0")
    result = pinned.run("build", cwd=app)
    assert result.returncode != 0, output(result)
    assert "Status code: '403'" in output(result), output(result)
    assert (f"{NAMESPACE}/{LIBRARY} 1.1.0 does not pass policy `default` of community "
            f"`{COMMUNITY}` ({live_server.url}/c/{COMMUNITY}/policies/default)"
            ) in output(result), output(result)  # fmt: skip
    assert "versions that pass: 1.0.0" in output(result), output(result)
    assert [call.url for call in pinned.curl_calls()] == [
        f"{proxy}/packages/{NAMESPACE}/{LIBRARY}/1.1.0"
    ]
    assert not any(app.glob("build/**/*.o")), "fpm compiled a release the policy refuses"

    # A delta audit of 1.1.0 accepted: a fresh unpinned build gets 1.1.0.
    community.accept_audit("1.1.0", delta_from="1.0.0")
    later, app = consumer(fpm_install, live_server, tmp_path / "later", "")
    result = later.run("run", cwd=app)
    assert EXPECTED_LINE.format(version="1.1.0") in result.stdout, output(result)
    assert result.returncode == 0, output(result)
    assert (later.cache / NAMESPACE / LIBRARY / "1.1.0" / "fpm.toml").is_file()
