"""Fixtures for the `fpmreg` client: real git repositories, an isolated environment."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from fpmreg.client.cli import app
from tests.support.tarballs import library_source, manifest

ROOT = Path(__file__).resolve().parents[2]
FPMREG = ROOT / ".venv" / "bin" / "fpmreg"


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No user git config, no token or registry from the caller, a private config home."""
    home = tmp_path / "home"
    home.mkdir()
    for name in ("FPMREG_TOKEN", "FPMREG_REGISTRY", "CI", "GIT_DIR", "GIT_WORK_TREE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", os.devnull)
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for role in ("AUTHOR", "COMMITTER"):
        monkeypatch.setenv(f"GIT_{role}_NAME", "A. Fortran")
        monkeypatch.setenv(f"GIT_{role}_EMAIL", "a.fortran@example.org")
    return home


def git(cwd: Path, *args: str) -> str:
    """Run `git ARGS` in `cwd`; fails the test loudly."""
    result = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return result.stdout


def good_files(name: str, version: str = "0.1.0", extra_manifest: str = "") -> dict[str, str]:
    """A package the registry accepts without a warning."""
    return {
        "fpm.toml": manifest(name, version, extra=extra_manifest),
        f"src/{name.replace('-', '_')}.f90": library_source(name),
        "README.md": f"# {name}\n\nA Fortran package.\n",
        "LICENSE": "MIT License\n",
    }


def write(root: Path, files: dict[str, str | bytes]) -> None:
    """Write `files` (relative paths) under `root`."""
    for path, content in files.items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content)


MakeRepo = Callable[..., Path]


@pytest.fixture
def make_repo(tmp_path: Path) -> MakeRepo:
    """`make_repo(files, name=...)`: a git repository with `files` committed at HEAD."""

    def make(files: dict[str, str | bytes], name: str = "pkg", commit: bool = True) -> Path:
        root = tmp_path / name
        root.mkdir()
        git(root, "init", "--quiet")
        write(root, files)
        if commit:
            git(root, "add", "--all")
            git(root, "commit", "--quiet", "--message", "first version")
        return root

    return make


@dataclass
class Run:
    """What a user sees from one `fpmreg` command."""

    exit_code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def fpmreg(*args: str | Path, input: str | None = None) -> Run:
    """`fpmreg ARGS` in this process, with the environment the test set up."""
    result: Result = CliRunner().invoke(app, [str(a) for a in args], input=input)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return Run(result.exit_code, result.stdout, result.stderr)
