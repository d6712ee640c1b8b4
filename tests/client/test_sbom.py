"""SBOMs of a realistic graph on a live registry: the server's route and `fpmreg sbom`,
every format through the specifications' own validators (docs/sbom.md)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import httpx
import pytest

from tests.client.conftest import fpmreg
from tests.client.pinning import dependency_table, token_for, write_project, yank
from tests.support.live import LiveServer
from tests.support.sbom_validators import PROBLEMS
from tests.support.tarballs import package_tarball

FORMATS = ("spdx-2.3", "spdx-3.0", "cyclonedx-1.6")
EPOCH = "1767225600"  # 2026-01-01T00:00:00Z


def publish(
    server: LiveServer,
    token: str,
    name: str,
    version: str,
    licence: str,
    deps: dict[str, str] | None = None,
) -> str:
    extra = dependency_table(deps) if deps else ""
    data = package_tarball(name, version, licence, extra_manifest=extra)
    response = httpx.post(
        f"{server.url}/api/v1/packages",
        headers={"Authorization": f"Bearer {token}"},
        files={"tarball": (f"{name}-{version}.tar.gz", data, "application/gzip")},
        timeout=30,
    )
    assert response.status_code == 201, response.text
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def graph(live_server: LiveServer) -> dict[str, str]:
    """appkit → plotkit → statkit → numkit, plotkit → numkit; numkit 1.2.0 is yanked."""
    token = token_for(live_server)
    shas = {"numkit-1.0.0": publish(live_server, token, "numkit", "1.0.0", "MIT")}
    shas["numkit-1.1.0"] = publish(live_server, token, "numkit", "1.1.0", "Apache-2.0")
    publish(live_server, token, "numkit", "1.2.0", "Apache-2.0")
    yank(live_server, token, "numkit", "1.2.0")
    shas["statkit"] = publish(
        live_server, token, "statkit", "1.0.0", "BSD-3-Clause", {"numkit": ""}
    )
    shas["plotkit"] = publish(
        live_server, token, "plotkit", "0.5.0", "MIT OR Apache-2.0", {"statkit": "", "numkit": ""}
    )
    shas["appkit"] = publish(
        live_server, token, "appkit", "2.0.0", "GPL-3.0-or-later", {"plotkit": ""}
    )
    return shas


def _cyclonedx_versions(body: bytes) -> dict[str, dict]:
    document = json.loads(body)
    return {c["name"]: c for c in document["components"]}


@pytest.mark.parametrize("name", FORMATS)
def test_the_registry_serves_a_valid_sbom_of_a_release(
    live_server: LiveServer, graph: dict[str, str], name: str
) -> None:
    url = f"{live_server.url}/api/v1/packages/pin/appkit/2.0.0/sbom"
    answer = httpx.get(url, params={"format": name}, timeout=30)
    assert answer.status_code == 200, answer.text
    assert PROBLEMS[name](answer.content) == []
    assert httpx.get(url, params={"format": name}, timeout=30).content == answer.content
    if name == "cyclonedx-1.6":
        components = _cyclonedx_versions(answer.content)
        assert set(components) == {"plotkit", "statkit", "numkit"}
        numkit = components["numkit"]
        assert numkit["version"] == "1.1.0"  # the newest not yanked
        assert numkit["hashes"] == [{"alg": "SHA-256", "content": graph["numkit-1.1.0"]}]
        assert numkit["licenses"] == [{"expression": "Apache-2.0"}]
        assert numkit["properties"][0]["name"] == "fpmreg:log-index"
        document = json.loads(answer.content)
        root = document["metadata"]["component"]
        assert root["purl"] == "pkg:fpm/pin/appkit@2.0.0"
        assert root["hashes"][0]["content"] == graph["appkit"]
        deps = {d["ref"]: d["dependsOn"] for d in document["dependencies"]}
        assert deps["pkg:fpm/pin/plotkit@0.5.0"] == [
            "pkg:fpm/pin/numkit@1.1.0",
            "pkg:fpm/pin/statkit@1.0.0",
        ]


def _locked_project(live_server: LiveServer, tmp_path: Path) -> Path:
    project = write_project(tmp_path / "app", {"plotkit": ""})
    text = (project / "fpm.toml").read_text()
    (project / "fpm.toml").write_text(
        text.replace('version = "0.1.0"\n', 'version = "0.1.0"\nlicense = "MIT"\n')
    )
    run = fpmreg("lock", "-C", project, "--registry", live_server.url)
    assert run.exit_code == 0, run.output
    return project


@pytest.mark.parametrize("name", FORMATS)
def test_fpmreg_sbom_writes_a_valid_deterministic_sbom_of_the_lock(
    live_server: LiveServer,
    graph: dict[str, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    name: str,
) -> None:
    project = _locked_project(live_server, tmp_path)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    out = tmp_path / "sbom.json"
    run = fpmreg("sbom", "-C", project, "--format", name, "--output", out, "--namespace", "me")
    assert run.exit_code == 0, run.output
    body = out.read_bytes()
    assert PROBLEMS[name](body) == []
    again = fpmreg("sbom", "-C", project, "--format", name, "--namespace", "me")
    assert again.exit_code == 0 and again.stdout.encode() == body
    assert "2026-01-01T00:00:00Z" in body.decode()
    if name == "spdx-2.3":
        packages = {p["name"]: p for p in json.loads(body)["packages"]}
        assert packages["pin/numkit"]["versionInfo"] == "1.1.0"
        assert packages["pin/numkit"]["licenseDeclared"] == "Apache-2.0"
        assert packages["pin/plotkit"]["licenseDeclared"] == "MIT OR Apache-2.0"
        assert packages["me/app"]["licenseDeclared"] == "MIT"
        refs = packages["pin/statkit"]["externalRefs"]
        assert refs[0]["referenceLocator"] == "pkg:fpm/pin/statkit@1.0.0"
        assert refs[1]["referenceLocator"].startswith(f"{live_server.url}/api/v1/log/entries/")
        assert packages["pin/statkit"]["checksums"][0]["checksumValue"] == graph["statkit"]


def test_offline_the_licences_are_noassertion_and_the_sbom_still_valid(
    live_server: LiveServer,
    graph: dict[str, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    project = _locked_project(live_server, tmp_path)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    run = fpmreg("sbom", "-C", project, "--offline")
    assert run.exit_code == 0, run.output
    assert PROBLEMS["spdx-2.3"](run.stdout.encode()) == []
    packages = {p["name"]: p for p in json.loads(run.stdout)["packages"]}
    assert packages["pin/numkit"]["licenseDeclared"] == "NOASSERTION"
    assert packages["local/app"]["licenseDeclared"] == "MIT"


def test_a_bad_format_or_epoch_is_a_usage_error(
    live_server: LiveServer,
    graph: dict[str, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    project = _locked_project(live_server, tmp_path)
    run = fpmreg("sbom", "-C", project, "--format", "swid")
    assert run.exit_code == 2 and "`spdx-2.3`, `spdx-3.0`, `cyclonedx-1.6`" in run.stderr
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "yesterday")
    run = fpmreg("sbom", "-C", project, "--offline")
    assert run.exit_code == 2 and "SOURCE_DATE_EPOCH" in run.stderr
