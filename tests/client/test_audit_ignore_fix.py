"""`fpmreg audit`: the ignore file, `--fix`, the warnings of lock and sync, and failures."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

from fpmreg.core.wire.audit import AuditReport
from tests.client.audit_support import audit, valid_sarif
from tests.client.conftest import fpmreg
from tests.client.pinning import publish, token_for, write_project
from tests.support.live import LiveServer, free_port
from tests.support.osv_server import OsvServer, record, running_osv

ADVISORY = "FPMREG-2026-0007"


@pytest.fixture(autouse=True)
def private_cache(isolated: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(isolated / ".cache"))
    return isolated / ".cache" / "fpmreg"


@pytest.fixture
def osv(tmp_path: Path) -> Iterator[OsvServer]:
    with running_osv(tmp_path / "osv") as server:
        yield server


@pytest.fixture
def affected_project(live_server: LiveServer, osv: OsvServer, tmp_path: Path) -> Path:
    """`app` locks pin/numkit 1.0.0 (fpm.toml allows `*`); 1.0.0 and 1.1.0 are affected,
    1.2.0 fixes it, and 1.3.0 exists."""
    token = token_for(live_server)
    for version in ("1.0.0", "1.1.0", "1.2.0", "1.3.0"):
        publish(live_server, token, "numkit", version)
    project = write_project(tmp_path / "app", {"numkit": "1.0.0"})
    run = fpmreg("lock", "-C", project, "--registry", live_server.url)
    assert run.exit_code == 0, run.output
    text = (project / "fpm.toml").read_text()
    (project / "fpm.toml").write_text(re.sub(r', v = "[^"]*"', "", text))
    osv.add(record(ADVISORY, "pin/numkit", fixed="1.2.0", aliases=("CVE-2026-7777",)))
    return project


def ignore_file(project: Path, body: str) -> Path:
    path = project / ".fpmreg-audit-ignore.toml"
    path.write_text(body)
    return path


def locked(project: Path) -> dict[str, str]:
    document = tomllib.loads((project / "fpm.lock").read_text())
    return {f"{p['namespace']}/{p['name']}": p["version"] for p in document["package"]}


def test_a_live_ignore_entry_hides_the_finding_and_shows_its_reason(
    affected_project: Path, osv: OsvServer
) -> None:
    ignore_file(
        affected_project,
        '[[ignore]]\nid = "CVE-2026-7777"\nreason = "we never parse untrusted input"\n'
        "expires = 2999-12-31\n",
    )

    run = audit(affected_project, osv)
    sarif = valid_sarif(audit(affected_project, osv, "--format", "sarif").stdout)

    assert run.exit_code == 0, run.output
    assert (
        f"ignored {ADVISORY} in pin/numkit 1.0.0 until 2999-12-31: we never parse untrusted input"
    ) in run.stdout
    assert "no problems found in 1 package (1 ignored)" in run.stdout
    [result] = sarif["runs"][0]["results"]
    assert result["suppressions"] == [
        {"kind": "external", "justification": "we never parse untrusted input"}
    ]


def test_an_expired_entry_stops_ignoring_and_says_so(
    affected_project: Path, osv: OsvServer
) -> None:
    ignore_file(
        affected_project,
        f'# accepted for the release\n\n[[ignore]]\nid = "{ADVISORY}"\nreason = "later"\n'
        "expires = 2001-01-31\n",
    )

    run = audit(affected_project, osv)

    assert run.exit_code == 1, run.output
    assert (
        f"`.fpmreg-audit-ignore.toml` line 3: the entry for `{ADVISORY}` expired on 2001-01-31"
    ) in run.stderr
    assert f"advisory {ADVISORY}" in run.stdout


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (f'id = "{ADVISORY}"\nexpires = 2999-01-01\n', "the entry needs a `reason`"),
        (f'id = "{ADVISORY}"\nreason = "x"\n', "the entry needs an `expires` date"),
        (f'id = "{ADVISORY}"\nreason = "x"\nexpires = "soon"\n', "`expires` must be a date"),
    ],
)
def test_an_entry_without_reason_or_expiry_is_an_error_naming_its_line(
    affected_project: Path, osv: OsvServer, entry: str, message: str
) -> None:
    ignore_file(
        affected_project,
        '[[ignore]]\nid = "other"\nreason = "ok"\nexpires = 2999-01-01\n\n[[ignore]]\n' + entry,
    )

    run = audit(affected_project, osv)

    assert run.exit_code == 2, run.output
    assert ".fpmreg-audit-ignore.toml` line 6: " + message in run.stderr


def test_fix_moves_the_lock_to_the_smallest_fixed_version(
    affected_project: Path, osv: OsvServer
) -> None:
    run = audit(affected_project, osv, "--fix")

    assert run.exit_code == 0, run.output
    assert locked(affected_project) == {"pin/numkit": "1.2.0"}
    assert "from 1.0.0" in run.stderr
    assert "no problems found in 1 package" in run.stdout


def test_fix_leaves_what_the_range_forbids_and_says_why(
    live_server: LiveServer, osv: OsvServer, tmp_path: Path
) -> None:
    token = token_for(live_server)
    publish(live_server, token, "numkit", "1.0.0")
    publish(live_server, token, "numkit", "1.2.0")
    project = write_project(tmp_path / "app", {"numkit": "1.0.0"})
    assert fpmreg("lock", "-C", project, "--registry", live_server.url).exit_code == 0
    osv.add(record(ADVISORY, "pin/numkit", fixed="1.2.0"))

    run = audit(project, osv, "--fix")

    assert run.exit_code == 1, run.output
    assert locked(project) == {"pin/numkit": "1.0.0"}
    assert (
        f"not fixed: `pin/numkit` 1.0.0 ({ADVISORY}): the fix 1.2.0 is outside the allowed "
        "`=1.0.0`: change the requirement in fpm.toml"
    ) in run.stderr


def test_lock_and_sync_warn_about_findings_and_still_succeed(
    affected_project: Path, osv: OsvServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FPMREG_OSV_URL", osv.url)

    locking = fpmreg("lock", "-C", affected_project)
    syncing = fpmreg("sync", "-C", affected_project)

    expected = f"warning: `pin/numkit` 1.0.0: advisory {ADVISORY}: a flaw in pin/numkit"
    assert locking.exit_code == 0, locking.output
    assert expected in locking.stderr
    assert syncing.exit_code == 0, syncing.output
    assert expected in syncing.stderr
    assert "fix: upgrade to 1.2.0" in syncing.stderr


def test_without_a_lock_the_manifest_is_resolved_and_nothing_is_written(
    live_server: LiveServer, osv: OsvServer, tmp_path: Path
) -> None:
    token = token_for(live_server)
    publish(live_server, token, "numkit", "1.0.0")
    project = write_project(tmp_path / "app", {"numkit": ""})
    osv.add(record(ADVISORY, "pin/numkit"))

    run = audit(project, osv, "--registry", live_server.url, "--format", "json")

    assert run.exit_code == 1, run.output
    report = AuditReport.model_validate_json(run.stdout)
    assert [(f.id, f.version) for f in report.findings] == [(ADVISORY, "1.0.0")]
    assert report.findings[0].fix is None
    assert report.lock == ""
    assert not (project / "fpm.lock").exists()


def test_an_unreachable_advisory_service_exits_2_with_a_clear_message(
    affected_project: Path,
) -> None:
    run = audit(affected_project, f"http://127.0.0.1:{free_port()}")

    assert run.exit_code == 2, run.output
    assert "cannot reach the advisory service at" in run.stderr


def test_paged_batch_answers_are_followed_and_each_record_read_once(
    live_server: LiveServer, tmp_path: Path
) -> None:
    token = token_for(live_server)
    publish(live_server, token, "numkit", "1.0.0")
    publish(live_server, token, "statkit", "1.0.0", {"numkit": ""})
    project = write_project(tmp_path / "app", {"statkit": ""})
    assert fpmreg("lock", "-C", project, "--registry", live_server.url).exit_code == 0
    with running_osv(tmp_path / "osv", page_size=1) as osv:
        for n in (1, 2, 3):
            osv.add(record(f"FPMREG-2026-000{n}", "pin/numkit"))
        osv.add(record("FPMREG-2026-0009", "pin/statkit"))

        run = audit(project, osv, "--format", "json")

    report = AuditReport.model_validate_json(run.stdout)
    assert sorted(f.id for f in report.findings) == [
        "FPMREG-2026-0001", "FPMREG-2026-0002", "FPMREG-2026-0003", "FPMREG-2026-0009"
    ]  # fmt: skip
    assert osv.requests.count("POST /v1/querybatch") == 3  # two more pages for numkit
    assert sorted(r for r in osv.requests if r.startswith("GET")) == [
        f"GET /v1/vulns/FPMREG-2026-000{n}" for n in (1, 2, 3, 9)
    ]
