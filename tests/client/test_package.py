"""`fpmreg package`: the tarball `fpm publish` uploads, without its stale model file."""

from __future__ import annotations

import hashlib
import subprocess
import tarfile
from pathlib import Path

from tests.client.conftest import FPMREG, MakeRepo, Run, fpmreg, git, good_files


def printed(run: Run, key: str) -> str:
    """The value of a `key  value` line of the command's output."""
    for line in run.stdout.splitlines():
        if line.startswith(key + " "):
            return line[len(key) :].strip()
    raise AssertionError(f"no `{key}` line in {run.stdout!r}")


def members(tarball: Path) -> list[str]:
    with tarfile.open(tarball, "r:gz") as tar:
        return sorted(m.name for m in tar.getmembers() if m.isfile())


def test_the_tarball_holds_exactly_the_committed_files_at_its_root(make_repo: MakeRepo) -> None:
    files = {**good_files("hello"), "src/sub/hello__util.f90": "module hello__util\nend module\n"}
    repo = make_repo(files)

    run = fpmreg("package", repo)

    assert run.exit_code == 0, run.output
    tarball = repo / "build" / "fpmreg" / "hello-0.1.0.tar.gz"
    assert printed(run, "path") == str(tarball)
    assert members(tarball) == sorted(git(repo, "ls-files").split())
    assert "fpm_model.json" not in members(tarball)
    assert printed(run, "sha256") == hashlib.sha256(tarball.read_bytes()).hexdigest()


def test_uncommitted_changes_are_left_out_with_a_warning(make_repo: MakeRepo) -> None:
    repo = make_repo(good_files("hello"))
    committed = (repo / "fpm.toml").read_text()
    (repo / "fpm.toml").write_text(committed.replace('"0.1.0"', '"0.2.0"'))
    (repo / "src" / "new.f90").write_text("module hello__new\nend module\n")

    run = fpmreg("package", repo)

    assert run.exit_code == 0, run.output
    assert "warning: `fpm.toml` has uncommitted changes" in run.stderr
    tarball = repo / "build" / "fpmreg" / "hello-0.1.0.tar.gz"  # HEAD's version, not 0.2.0
    with tarfile.open(tarball, "r:gz") as tar:
        manifest = tar.extractfile("fpm.toml")
        assert manifest is not None
        assert manifest.read().decode() == committed
        assert "src/new.f90" not in tar.getnames()


def test_output_path_is_taken_from_the_option(make_repo: MakeRepo, tmp_path: Path) -> None:
    repo = make_repo(good_files("hello"))
    out = tmp_path / "out dir" / "it's.tar.gz"  # spaces and quotes: an argv, not a shell

    run = fpmreg("package", repo, "-o", out)

    assert run.exit_code == 0, run.output
    assert printed(run, "path") == str(out)
    assert members(out) == sorted(git(repo, "ls-files").split())
    assert not (repo / "build").exists()


def test_the_same_commit_gives_the_same_bytes_as_git_archive(make_repo: MakeRepo) -> None:
    repo = make_repo(good_files("hello"))
    reference = repo.parent / "reference.tar.gz"
    git(repo, "archive", "HEAD", "--format=tar.gz", "-o", str(reference))

    run = fpmreg("package", repo)

    assert printed(run, "sha256") == hashlib.sha256(reference.read_bytes()).hexdigest()


def test_a_subfolder_of_a_repository_is_packaged_alone(make_repo: MakeRepo) -> None:
    package_files = good_files("hello")
    repo = make_repo(
        {
            **{f"packages/hello/{path}": text for path, text in package_files.items()},
            "packages/other/fpm.toml": 'name = "other"\n',
            "other.txt": "not part of the package\n",
        }
    )
    folder = repo / "packages" / "hello"
    tarball = repo / "hello.tar.gz"

    run = fpmreg("package", folder, "-o", tarball)
    check = fpmreg("check", folder)

    # As `fpm publish` run there: the subfolder's files only, its fpm.toml at the root.
    assert run.exit_code == 0, run.output
    assert members(tarball) == sorted(package_files)
    assert check.exit_code == 0, check.output
    assert "ok: `hello` 0.1.0" in check.stdout


def test_a_folder_without_git_or_commit_is_refused(make_repo: MakeRepo, tmp_path: Path) -> None:
    loose = tmp_path / "loose"
    loose.mkdir()
    empty = make_repo(good_files("hello"), name="empty", commit=False)

    outside = fpmreg("package", loose)
    uncommitted = fpmreg("package", empty)

    assert outside.exit_code == 2
    assert "is not inside a git work tree" in outside.stderr
    assert uncommitted.exit_code == 2
    assert "has no commit yet" in uncommitted.stderr
    assert not (empty / "build").exists()


def test_the_installed_command_packages_the_current_folder(make_repo: MakeRepo) -> None:
    repo = make_repo(good_files("hello"))

    result = subprocess.run([FPMREG, "package"], cwd=repo, capture_output=True, text=True)

    assert result.returncode == 0, result.stderr
    assert (repo / "build" / "fpmreg" / "hello-0.1.0.tar.gz").is_file()
