"""`fpmreg check`: the registry's upload checks on a package folder or a tarball."""

from __future__ import annotations

import json
from pathlib import Path

from fpmreg.core.catalogue import CATALOGUE
from fpmreg.core.wire.cli import CheckReport
from tests.client.conftest import MakeRepo, fpmreg, good_files, write
from tests.support.tarballs import package_tarball


def codes(stdout: str) -> list[str]:
    return sorted(p.code for p in CheckReport.model_validate_json(stdout).problems)


def test_a_good_package_folder_passes_every_check(make_repo: MakeRepo) -> None:
    repo = make_repo(good_files("hello"))

    run = fpmreg("check", repo)

    assert run.exit_code == 0, run.output
    assert "error" not in run.output
    assert "ok: `hello` 0.1.0" in run.stdout
    as_json = fpmreg("check", repo, "--format", "json")
    assert as_json.exit_code == 0
    report = CheckReport.model_validate_json(as_json.stdout)
    assert (report.package, report.version, report.ok) == ("hello", "0.1.0", True)
    assert (report.errors, report.warnings, report.problems) == (0, 0, [])
    assert json.loads(as_json.stdout)["ok"] is True


def test_problems_in_a_folder_are_listed_exactly_and_exit_1(make_repo: MakeRepo) -> None:
    files: dict[str, str | bytes] = {
        **good_files("hello"),
        "src/hello.o": b"\x7fELF\x02\x01\x01" + bytes(64),
    }
    files["fpm.toml"] = (
        'name = "hello"\nversion = "0.1.0"\nlicense = "MIT"\n'
        'description = "The hello package"\nauthor = "A. Fortran"\n'
        "[build]\nmodule-naming = false\n"
        '[dependencies]\nfoo = { git = "https://example.org/foo.git" }\n'
    )
    repo = make_repo(files)

    as_json = fpmreg("check", repo, "--format", "json")
    as_text = fpmreg("check", repo)

    assert as_json.exit_code == 1
    assert codes(as_json.stdout) == ["build-output", "dependency-git", "module-naming-off"]
    refused = CheckReport.model_validate_json(as_json.stdout)
    assert (refused.ok, refused.errors, refused.package) == (False, 3, "hello")
    assert as_text.exit_code == 1
    assert "error[module-naming-off] build.module-naming: " in as_text.stdout
    assert "error[build-output] src/hello.o: `src/hello.o`" in as_text.stdout
    assert "error[dependency-git] dependencies: " in as_text.stdout
    assert "refused: `hello` 0.1.0" in as_text.stdout
    assert "3 errors, 0 warnings" in as_text.stdout


def test_warnings_alone_do_not_fail_the_check(make_repo: MakeRepo) -> None:
    files = good_files("hello")
    del files["README.md"]
    repo = make_repo(files)

    run = fpmreg("check", repo)

    assert run.exit_code == 0
    assert "warning[readme-missing] README: " in run.stdout
    assert "0 errors, 1 warning" in run.stdout


def test_a_folder_is_checked_as_committed_not_as_edited(make_repo: MakeRepo) -> None:
    repo = make_repo(good_files("hello"))
    (repo / "fpm.toml").write_text((repo / "fpm.toml").read_text() + "license-typo = 1\n")

    run = fpmreg("check", repo, "--format", "json")

    assert run.exit_code == 0
    assert CheckReport.model_validate_json(run.stdout).problems == []  # the JSON alone
    assert "`fpm.toml` has uncommitted changes" in run.stderr


def test_a_tarball_is_checked(tmp_path: Path) -> None:
    good = tmp_path / "good.tar.gz"
    good.write_bytes(package_tarball("hello"))
    bad = tmp_path / "bad.tar.gz"
    bad.write_bytes(package_tarball("hello", extra_manifest="[dependencies]\nx = { path = 'x' }\n"))

    assert fpmreg("check", good).exit_code == 0
    run = fpmreg("check", bad, "--format", "json")
    assert run.exit_code == 1
    assert codes(run.stdout) == ["dependency-path"]


def test_a_folder_outside_git_is_a_usage_error(tmp_path: Path) -> None:
    folder = tmp_path / "loose"
    write(folder, dict(good_files("hello")))

    run = fpmreg("check", folder)

    assert run.exit_code == 2
    assert run.stdout == ""
    assert f"error: `{folder}` is not inside a git work tree" in run.stderr
    assert "commit your package first" in run.stderr


def test_a_repository_without_commit_is_a_usage_error(make_repo: MakeRepo) -> None:
    repo = make_repo(dict(good_files("hello")), commit=False)

    run = fpmreg("check", repo)

    assert run.exit_code == 2
    assert "has no commit yet" in run.stderr


def test_a_missing_path_is_a_usage_error(tmp_path: Path) -> None:
    run = fpmreg("check", tmp_path / "nowhere")

    assert run.exit_code == 2
    assert "does not exist" in run.stderr


def test_list_prints_every_check_of_the_catalogue() -> None:
    text = fpmreg("check", "--list")
    as_json = fpmreg("check", "--list", "--format", "json")

    assert text.exit_code == 0
    lines = text.stdout.splitlines()
    assert len(lines) == len(CATALOGUE)
    first = next(iter(CATALOGUE.values()))
    assert lines[0].split()[:2] == [first.code, str(first.severity)]
    assert first.title in lines[0]
    assert [c["code"] for c in json.loads(as_json.stdout)] == list(CATALOGUE)
