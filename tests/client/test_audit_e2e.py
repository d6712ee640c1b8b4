"""The proof of issue 12: an advisory published on the registry reaches `fpmreg audit`.

Publish three versions; publish an advisory affecting the first two, fixed in the third;
the audit of a lock with the first reports it and suggests the third (text, JSON and
SARIF); withdrawn, the audit is clean; the package deprecated with a replacement, the
audit names the replacement. Everything goes through the registry's own OSV API.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from fpmreg.core.wire.audit import AuditReport, FindingKind
from fpmreg.server.accounts.models import Scope
from tests.client.audit_support import manage, valid_sarif
from tests.client.conftest import fpmreg
from tests.client.pinning import publish, write_project
from tests.support.live import LiveServer


@pytest.fixture(autouse=True)
def private_cache(isolated: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(isolated / ".cache"))
    return isolated / ".cache" / "fpmreg"


def _advisory(server: LiveServer, token: str, method: str, path: str, body: object) -> str:
    response = httpx.request(
        method,
        f"{server.url}/api/v1/advisories{path}",
        headers={"Authorization": f"Bearer {token}"},
        json=body,
        timeout=30,
    )
    assert response.status_code in (200, 201), response.text
    advisory_id: str = response.json()["id"]
    return advisory_id


def test_a_published_advisory_is_reported_then_withdrawn_then_deprecation_is_named(
    live_server: LiveServer, tmp_path: Path
) -> None:
    token = live_server.publisher_token("pin", scopes={Scope.PUBLISH, Scope.YANK, Scope.MANAGE})
    for version in ("1.0.0", "1.1.0", "1.2.0"):
        publish(live_server, token, "numkit", version)
    publish(live_server, token, "fastnum", "1.0.0")
    project = write_project(tmp_path / "app", {"numkit": "1.0.0"})
    assert fpmreg("lock", "-C", project, "--registry", live_server.url).exit_code == 0
    # The range allows any version from here on; the lock keeps 1.0.0.
    text = (project / "fpm.toml").read_text()
    (project / "fpm.toml").write_text(text.replace(', v = "1.0.0"', ""))
    advisory_id = _advisory(
        live_server,
        token,
        "POST",
        "",
        {
            "package": "pin/numkit",
            "summary": "out-of-bounds write in numkit_parse",
            "events": [{"introduced": "0"}, {"fixed": "1.2.0"}],
            "severity": [
                {"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}
            ],
            "aliases": ["CVE-2026-4242"],
            "mitigation": {"upgrade_to": "1.2.0"},
        },
    )
    _advisory(live_server, token, "POST", f"/{advisory_id}/publish", None)

    text_run = fpmreg("audit", "-C", project)
    json_run = fpmreg("audit", "-C", project, "--format", "json")
    sarif_run = fpmreg("audit", "-C", project, "--format", "sarif")

    assert text_run.exit_code == 1, text_run.output
    assert (
        f"advisory {advisory_id}: out-of-bounds write in numkit_parse (CVE-2026-4242); "
        "fix: upgrade to 1.2.0"
    ) in text_run.stdout
    [finding] = AuditReport.model_validate_json(json_run.stdout).findings
    assert (finding.id, finding.version) == (advisory_id, "1.0.0")
    assert finding.fix is not None and finding.fix.upgrade_to == "1.2.0"
    assert finding.mitigation is not None and finding.mitigation.upgrade_to == "1.2.0"
    [result] = valid_sarif(sarif_run.stdout)["runs"][0]["results"]
    assert result["ruleId"] == advisory_id
    assert "upgrade to 1.2.0" in result["message"]["text"]

    _advisory(live_server, token, "POST", f"/{advisory_id}/withdraw", {"reason": "not a flaw"})
    clean = fpmreg("audit", "-C", project)

    assert clean.exit_code == 0, clean.output
    assert "no problems found in 1 package" in clean.stdout

    manage(
        live_server,
        token,
        "PUT",
        "numkit/deprecation",
        {"message": "numkit is unmaintained", "replacement": "pin/fastnum"},
    )
    deprecated = fpmreg("audit", "-C", project, "--format", "json")
    text_deprecated = fpmreg("audit", "-C", project)

    assert deprecated.exit_code == 1, deprecated.output
    [finding] = AuditReport.model_validate_json(deprecated.stdout).findings
    assert finding.kind is FindingKind.DEPRECATED
    assert finding.fix is not None and finding.fix.switch_to == "pin/fastnum"
    assert "deprecated: numkit is unmaintained; fix: switch to `pin/fastnum`" in (
        text_deprecated.stdout
    )
