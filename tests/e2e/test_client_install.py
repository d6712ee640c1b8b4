"""The client installs alone (`pip install <checkout>`, no `server` extra) into an empty
virtualenv, and that install checks, locks and syncs against a live registry
(README.md, "Install"; docs/locking.md)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

from fpmreg import __version__
from tests.client.pinning import NAMESPACE, publish, token_for, write_project
from tests.support.live import ROOT, LiveServer
from tests.support.tarballs import library_source, manifest

pytestmark = pytest.mark.e2e

# What a checkout holds besides the source: never copied into the build.
LOCAL_ONLY = shutil.ignore_patterns(
    ".git",
    ".venv",
    "var",
    "build",
    "*.egg-info",
    "__pycache__",
    ".*_cache",
    ".hypothesis",
    "node_modules",
)
SERVER_ONLY = ("fastapi", "sqlalchemy", "uvicorn", "alembic", "jinja2", "boto3")


def _run(cmd: list[str | Path], **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # type: ignore[call-overload, no-any-return]
        [str(c) for c in cmd], capture_output=True, text=True, timeout=600, **kwargs
    )


def _index_problem(pip: Path) -> str | None:
    """Why pip cannot reach any package index (index, extra index or find-links), or
    None when it can: then a failed install is the checkout's fault."""
    probe = _run([pip, "index", "versions", "setuptools"])
    if probe.returncode == 0:
        return None
    return (probe.stderr or probe.stdout).strip().splitlines()[-1]


@pytest.fixture(scope="module")
def client_venv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """An empty virtualenv with `pip install <a copy of the checkout>` done in it (a copy:
    the build writes `build/` and `*.egg-info` where the source is). pip's cache serves
    what it already downloaded."""
    work = tmp_path_factory.mktemp("client-install")
    source = work / "fpmreg"
    shutil.copytree(ROOT, source, ignore=LOCAL_ONLY)
    venv = work / "venv"
    made = _run([sys.executable, "-m", "venv", venv])
    assert made.returncode == 0, made.stderr
    pip = venv / "bin" / "pip"
    installed = _run([pip, "install", "--quiet", source])
    if installed.returncode != 0:
        problem = _index_problem(pip)
        if problem is not None:
            pytest.skip(f"pip cannot reach a package index to install the client: {problem}")
        pytest.fail(f"`pip install <checkout>` failed:\n{installed.stdout}\n{installed.stderr}")
    yield venv / "bin"


@pytest.fixture
def user_env(tmp_path: Path) -> dict[str, str]:
    """The environment of a user with nothing configured: a private HOME, no token, no
    registry, no git identity of their own."""
    home = tmp_path / "home"
    home.mkdir()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("FPMREG_", "GIT_", "VIRTUAL_ENV", "PYTHON"))
    }
    env.update(
        {
            "HOME": str(home),
            "XDG_CONFIG_HOME": str(home / ".config"),
            "XDG_CACHE_HOME": str(home / ".cache"),
            "GIT_CONFIG_GLOBAL": os.devnull,
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_AUTHOR_NAME": "A. Fortran",
            "GIT_AUTHOR_EMAIL": "a.fortran@example.org",
            "GIT_COMMITTER_NAME": "A. Fortran",
            "GIT_COMMITTER_EMAIL": "a.fortran@example.org",
        }
    )
    return env


def test_the_client_installs_without_the_server_stack(client_venv: Path) -> None:
    python = client_venv / "python"
    for module in SERVER_ONLY:
        found = _run([python, "-c", f"import importlib.util as u; print(u.find_spec({module!r}))"])
        assert found.stdout.strip() == "None", f"{module} is installed with the client alone"

    version = _run([client_venv / "fpmreg", "--version"])
    assert version.returncode == 0, version.stderr
    assert version.stdout.strip() == f"fpmreg {__version__}"

    server = _run([client_venv / "fpmreg-server", "run"])
    assert server.returncode == 2
    assert server.stderr.startswith(
        "fpmreg-server needs the server extra: pip install 'fpmreg[server]'"
    )
    assert len(server.stderr.strip().splitlines()) == 1  # a sentence, not a traceback


def test_the_installed_client_checks_locks_and_syncs(
    client_venv: Path, live_server: LiveServer, tmp_path: Path, user_env: dict[str, str]
) -> None:
    fpmreg = client_venv / "fpmreg"
    package = tmp_path / "hello"
    package.mkdir()
    (package / "fpm.toml").write_text(manifest("hello"))
    (package / "src").mkdir()
    (package / "src" / "hello.f90").write_text(library_source("hello"))
    (package / "README.md").write_text("# hello\n\nA Fortran package.\n")
    (package / "LICENSE").write_text("MIT License\n")
    for step in (["init", "--quiet"], ["add", "--all"], ["commit", "--quiet", "-m", "first"]):
        assert _run(["git", *step], cwd=package, env=user_env).returncode == 0

    checked = _run([fpmreg, "check", package], env=user_env)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "ok: `hello` 0.1.0" in checked.stdout

    token = token_for(live_server)
    publish(live_server, token, "numkit", "1.0.0")
    publish(live_server, token, "statkit", "1.0.0", {"numkit": ""})
    app = write_project(tmp_path / "app", {"statkit": ""})

    locked = _run([fpmreg, "lock", "--registry", live_server.url], cwd=app, env=user_env)
    assert locked.returncode == 0, locked.stdout + locked.stderr
    lock = tomllib.loads((app / "fpm.lock").read_text())
    locked_versions = {(p["namespace"], p["name"], p["version"]) for p in lock["package"]}
    assert locked_versions == {(NAMESPACE, "numkit", "1.0.0"), (NAMESPACE, "statkit", "1.0.0")}
    assert {p["registry"] for p in lock["package"]} == {live_server.url}

    synced = _run([fpmreg, "sync"], cwd=app, env=user_env)
    assert synced.returncode == 0, synced.stdout + synced.stderr
    assert f"installed `{NAMESPACE}/numkit` 1.0.0" in synced.stdout
    assert f"installed `{NAMESPACE}/statkit` 1.0.0" in synced.stdout
    assert synced.stdout.rstrip().endswith(
        "build with: fpm build --config-file build/fpmreg/config.toml"
    )
    registry = app / "build" / "fpmreg" / "registry" / NAMESPACE
    assert (registry / "numkit" / "1.0.0" / "src" / "numkit.f90").is_file()
    assert (registry / "statkit" / "1.0.0" / "fpm.toml").is_file()
