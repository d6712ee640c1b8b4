"""A client nobody on the team wrote: pip-audit, pointed at the registry's OSV API.

The registry imports PyPI-ecosystem OSV records with `fpmreg-server advisories import`
(a zip, as osv.dev's dumps come), runs as an operator runs it, and pip-audit audits a
pinned requirements file against `--osv-url http://127.0.0.1:PORT/v1/query` with
`--no-deps --disable-pip`, so it needs no network and installs nothing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.factories import pypi_record
from tests.support.live import LiveServer

pytestmark = pytest.mark.e2e

PIP_AUDIT = Path(sys.executable).parent / "pip-audit"


def _import(server: LiveServer, dump: Path) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "fpmreg.server", "advisories", "import", str(dump)],
        env=server.environment(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def _pip_audit(server: LiveServer, requirements: Path, cache: Path) -> dict[str, object]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "FPMREG_"))}
    result = subprocess.run(
        [
            str(PIP_AUDIT),
            *("-r", str(requirements)),
            "--no-deps",
            "--disable-pip",
            *("--vulnerability-service", "osv"),
            *("--osv-url", f"{server.url}/v1/query"),
            *("--format", "json"),
            *("--cache-dir", str(cache)),
            "--progress-spinner=off",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    # pip-audit exits 1 when it found something, 0 when clean; anything else is an error.
    assert result.returncode in (0, 1), result.stderr
    found: dict[str, object] = json.loads(result.stdout)
    return found


def _findings(dependency: dict[str, object]) -> dict[str, list[str]]:
    """{our record id: fix versions} of what pip-audit reported for one dependency."""
    out = {}
    for vuln in dependency["vulns"]:  # type: ignore[attr-defined]
        names = [vuln["id"], *vuln.get("aliases", [])]
        ours = [n for n in names if n.startswith(("PYSEC-", "GHSA-"))]
        assert len(ours) == 1, names
        out[ours[0]] = vuln["fix_versions"]
    return out


def test_pip_audit_finds_exactly_the_imported_advisories(
    live_server: LiveServer, tmp_path: Path
) -> None:
    records = [
        pypi_record("PYSEC-2021-66", "jinja2", "2.11.3"),
        pypi_record("GHSA-h5c8-rqwp-cp95", "jinja2", "3.1.3"),
        pypi_record("PYSEC-2023-74", "requests", "2.31.0"),
        # Not in the requirements: must not be reported.
        pypi_record("PYSEC-2022-42969", "urllib3", "1.26.5"),
        # Withdrawn: pip-audit skips it, and with a version the registry no longer matches it.
        pypi_record("PYSEC-2020-96", "requests", "2.99.0", withdrawn="2024-04-01T00:00:00Z"),
    ]
    dump = tmp_path / "all.zip"
    with zipfile.ZipFile(dump, "w") as archive:
        for record in records:
            archive.writestr(f"{record['id']}.json", json.dumps(record))
    assert "imported 5 new" in _import(live_server, dump)

    requirements = tmp_path / "requirements.txt"
    requirements.write_text("Jinja2==2.11.2\nrequests==2.32.0\nflask==3.0.0\n")
    report = _pip_audit(live_server, requirements, tmp_path / "cache")
    # pip-audit names a finding by its preferred id among the record's id and aliases
    # (a CVE alias here), so findings are compared by every name they carry.
    found = {dep["name"]: _findings(dep) for dep in report["dependencies"]}  # type: ignore[attr-defined]
    assert found == {
        "jinja2": {"GHSA-h5c8-rqwp-cp95": ["3.1.3"], "PYSEC-2021-66": ["2.11.3"]},
        "requests": {},
        "flask": {},
    }

    requirements.write_text("jinja2==3.1.4\nrequests==2.32.0\n")
    clean = _pip_audit(live_server, requirements, tmp_path / "cache2")
    assert all(not dep["vulns"] for dep in clean["dependencies"])  # type: ignore[attr-defined]
