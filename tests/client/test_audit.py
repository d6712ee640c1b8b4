"""`fpmreg audit` against a live registry and a real OSV server on loopback."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from fpmreg.core.wire.audit import AuditReport, FindingKind
from tests.client.audit_support import audit, manage, valid_sarif
from tests.client.conftest import fpmreg
from tests.client.pinning import publish, token_for, write_project, yank
from tests.support.live import LiveServer
from tests.support.osv_server import OsvServer, record, running_osv

ADVISORY = "FPMREG-2026-0001"


@pytest.fixture(autouse=True)
def private_cache(isolated: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The client's cache under the test's HOME."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(isolated / ".cache"))
    return isolated / ".cache" / "fpmreg"


@pytest.fixture
def osv(tmp_path: Path) -> OsvServer:
    with running_osv(tmp_path / "osv") as server:
        yield server


@pytest.fixture
def token(live_server: LiveServer) -> str:
    return token_for(live_server)


def locked_project(server: LiveServer, root: Path, deps: dict[str, str]) -> Path:
    """A project depending on `deps`, locked against `server`."""
    project = write_project(root, deps)
    run = fpmreg("lock", "-C", project, "--registry", server.url)
    assert run.exit_code == 0, run.output
    return project


def locked_versions(project: Path) -> dict[str, str]:
    document = tomllib.loads((project / "fpm.lock").read_text())
    return {f"{p['namespace']}/{p['name']}": p["version"] for p in document["package"]}


def test_an_affected_version_is_reported_with_the_smallest_fix(
    live_server: LiveServer, token: str, osv: OsvServer, tmp_path: Path
) -> None:
    for version in ("1.0.0", "1.1.0", "1.2.0", "1.3.0"):
        publish(live_server, token, "numkit", version)
    project = unpinned(locked_project(live_server, tmp_path / "app", {"numkit": "1.0.0"}))
    osv.add(
        record(ADVISORY, "pin/numkit", fixed="1.2.0", summary="overflow in parse",
               aliases=("CVE-2026-1234",), mitigation={"upgrade_to": "1.2.0"})
    )  # fmt: skip

    run = audit(project, osv)

    assert run.exit_code == 1, run.output
    assert "pin/numkit 1.0.0" in run.stdout
    assert (
        f"advisory {ADVISORY}: overflow in parse (CVE-2026-1234); fix: upgrade to 1.2.0; "
        "the advisory suggests: upgrade to 1.2.0"
    ) in run.stdout
    assert "found 1 problem in 1 of 1 package: 1 advisory" in run.stdout


def unpinned(project: Path) -> Path:
    """Drop fpm.toml's `v` pins: the lock keeps its versions, the range becomes `*`."""
    text = (project / "fpm.toml").read_text()
    (project / "fpm.toml").write_text(re.sub(r', v = "[^"]*"', "", text))
    return project


def test_json_and_sarif_name_the_advisory_and_the_fix(
    live_server: LiveServer, token: str, osv: OsvServer, tmp_path: Path
) -> None:
    for version in ("1.0.0", "1.1.0", "1.2.0"):
        publish(live_server, token, "numkit", version)
    project = unpinned(locked_project(live_server, tmp_path / "app", {"numkit": "1.0.0"}))
    osv.add(record(ADVISORY, "pin/numkit", fixed="1.2.0"))

    as_json = audit(project, osv, "--format", "json")
    as_sarif = audit(project, osv, "--format", "sarif")

    assert as_json.exit_code == 1, as_json.output
    report = AuditReport.model_validate_json(as_json.stdout)
    [finding] = report.findings
    assert (finding.id, finding.kind, finding.package, finding.version) == (
        ADVISORY, FindingKind.ADVISORY, "pin/numkit", "1.0.0"
    )  # fmt: skip
    assert finding.fix is not None and finding.fix.upgrade_to == "1.2.0"
    assert finding.fix.within_range
    assert report.summary.by_kind == {"advisory": 1}
    assert as_sarif.exit_code == 1, as_sarif.output
    sarif = valid_sarif(as_sarif.stdout)
    [result] = sarif["runs"][0]["results"]
    assert result["ruleId"] == ADVISORY
    assert "upgrade to 1.2.0" in result["message"]["text"]
    location = result["locations"][0]["physicalLocation"]
    assert location["artifactLocation"]["uri"].endswith("fpm.lock")
    line = (project / "fpm.lock").read_text().splitlines()[location["region"]["startLine"] - 1]
    assert line == 'version = "1.0.0"'
    manifest = result["locations"][1]["physicalLocation"]
    assert manifest["artifactLocation"]["uri"].endswith("fpm.toml")
    assert sarif["runs"][0]["tool"]["driver"]["rules"][0]["id"] == ADVISORY


def test_a_withdrawn_advisory_is_not_reported(
    live_server: LiveServer, token: str, osv: OsvServer, tmp_path: Path
) -> None:
    publish(live_server, token, "numkit", "1.0.0")
    project = locked_project(live_server, tmp_path / "app", {"numkit": "1.0.0"})
    osv.add(record(ADVISORY, "pin/numkit", fixed="1.2.0", withdrawn="2026-12-01T00:00:00Z"))

    run = audit(project, osv)

    assert run.exit_code == 0, run.output
    assert "no problems found in 1 package" in run.stdout


def test_a_fix_outside_the_range_says_so(
    live_server: LiveServer, token: str, osv: OsvServer, tmp_path: Path
) -> None:
    publish(live_server, token, "numkit", "1.0.0")
    publish(live_server, token, "numkit", "2.0.0")
    project = locked_project(live_server, tmp_path / "app", {"numkit": "1.0.0"})
    osv.add(record(ADVISORY, "pin/numkit", fixed="2.0.0"))

    run = audit(project, osv)

    assert run.exit_code == 1
    assert "upgrade to 2.0.0, outside the allowed `=1.0.0`: change the requirement" in run.stdout


def test_yanked_deprecated_and_deleted_versions_are_reported(
    live_server: LiveServer, osv: OsvServer, tmp_path: Path
) -> None:
    from fpmreg.server.accounts.models import Scope

    token = live_server.publisher_token("pin", scopes={Scope.PUBLISH, Scope.YANK, Scope.MANAGE})
    for name in ("numkit", "oldkit", "gonekit"):
        publish(live_server, token, name, "1.0.0")
        publish(live_server, token, name, "1.1.0")
    publish(live_server, token, "newkit", "1.0.0")
    project = locked_project(
        live_server, tmp_path / "app", {"numkit": "", "oldkit": "", "gonekit": ""}
    )
    yank(live_server, token, "numkit", "1.1.0")
    manage(live_server, token, "PUT", "oldkit/deprecation",
           {"message": "unmaintained", "replacement": "pin/newkit"})  # fmt: skip
    manage(live_server, token, "DELETE", "gonekit/versions/1.1.0",
           {"reason": "published by mistake", "category": "broken"})  # fmt: skip

    run = audit(project, osv)
    as_json = AuditReport.model_validate_json(audit(project, osv, "--format", "json").stdout)
    sarif = valid_sarif(audit(project, osv, "--format", "sarif").stdout)

    assert run.exit_code == 1, run.output
    assert "yanked: its maintainers yanked 1.1.0; fix: no later version is published" in run.stdout
    assert "deprecated: unmaintained; fix: switch to `pin/newkit`" in run.stdout
    assert "deleted: 1.1.0 was deleted from the registry" in run.stdout
    assert {(f.kind, f.id) for f in as_json.findings} == {
        (FindingKind.YANKED, "yanked:pin/numkit@1.1.0"),
        (FindingKind.DEPRECATED, "deprecated:pin/oldkit"),
        (FindingKind.DELETED, "deleted:pin/gonekit@1.1.0"),
    }
    rules = {r["ruleId"] for r in sarif["runs"][0]["results"]}
    assert rules == {"fpmreg/yanked", "fpmreg/deprecated", "fpmreg/deleted"}
