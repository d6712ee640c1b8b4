"""What every script relies on: `fpmreg --version`, and one JSON document on stdout."""

from __future__ import annotations

from fpmreg import __version__
from fpmreg.core.wire.cli import CheckReport
from tests.client.conftest import MakeRepo, fpmreg, good_files


def test_version_flag_and_command_print_the_clients_version() -> None:
    flag = fpmreg("--version")
    assert flag.exit_code == 0
    assert flag.stdout.strip() == f"fpmreg {__version__}"
    assert fpmreg("version").stdout.strip() == __version__


def test_check_json_names_the_package_and_says_ok(make_repo: MakeRepo) -> None:
    files = good_files("greeter")
    del files["README.md"]  # a warning only: still ok
    run = fpmreg("check", make_repo(files), "--format", "json")
    assert run.exit_code == 0
    report = CheckReport.model_validate_json(run.stdout)
    assert (report.package, report.version, report.ok) == ("greeter", "0.1.0", True)
    assert (report.errors, report.warnings) == (0, 1)
    assert [p.code for p in report.problems] == ["readme-missing"]
    assert "at commit" in report.origin
