"""Issue 4, "Pinning": the real fpm 0.12.0 builds exactly what `fpmreg lock` pinned.

Three Fortran packages, each with its own tests, are published to a running registry
with `fpmreg publish`: `numkit` (a library), `statkit` (a library using numkit) and
`sumapp` (an app using statkit, which prints numkit's version). In sumapp's folder
`fpmreg lock` and `fpmreg sync` install the locked versions into a local registry
folder, and the real `fpm build/test/run --config-file build/fpmreg/config.toml`
compile against it (docs/fpm-protocol.md §1.8, §2.1) without fetching anything. Then the
registry moves on (a newer numkit, a yank, a tampered tarball) and the build follows
the lock, and only the lock.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from fpmreg.server.accounts.models import Scope
from tests.support.fpm import Fpm, output
from tests.support.live import LiveServer

NAMESPACE = "pin"
FPMREG = Path(sys.executable).parent / "fpmreg"
CONFIG = "build/fpmreg/config.toml"
REGISTRY = Path("build") / "fpmreg" / "registry"
# What sumapp prints: the sum comes through statkit, the version is numkit's own.
APP_LINE = "sum = 10 using numkit {version}"


# --- the three packages ------------------------------------------------------------------

GITIGNORE = "build/\nfpm.lock\n"


def manifest(name: str, version: str, deps: list[str], extra: str = "") -> str:
    table = "".join(f'{dep} = {{ namespace = "{NAMESPACE}" }}\n' for dep in deps)
    return (
        f'name = "{name}"\nversion = "{version}"\nlicense = "MIT"\n'
        f'description = "{name}, a package of the pinning test"\nauthor = "A. Fortran"\n'
        f"[build]\nmodule-naming = true\n{extra}" + (f"[dependencies]\n{table}" if deps else "")
    )


def numkit_files(version: str) -> dict[str, str]:
    return {
        "fpm.toml": manifest("numkit", version, []),
        "src/numkit.f90": (
            "module numkit\n  implicit none\n  private\n"
            "  public :: numkit_add, numkit_release\n"
            "contains\n  pure integer function numkit_add(a, b)\n"
            "    integer, intent(in) :: a, b\n    numkit_add = a + b\n"
            "  end function numkit_add\n"
            # A function, not a parameter: the text printed comes from the numkit object
            # that was linked, not from a constant compiled into statkit.
            "  function numkit_release() result(text)\n"
            "    character(len=:), allocatable :: text\n"
            f"    text = '{version}'\n  end function numkit_release\nend module numkit\n"
        ),
        "test/check.f90": (
            "program check\n  use numkit, only: numkit_add\n  implicit none\n"
            "  if (numkit_add(2, 3) /= 5) stop 1\n"
            "  print '(a)', 'numkit tests passed'\nend program check\n"
        ),
    }


STATKIT = {
    "fpm.toml": manifest("statkit", "1.0.0", ["numkit"]),
    "src/statkit.f90": (
        "module statkit\n  use numkit, only: numkit_add, numkit_release\n  implicit none\n"
        "  private\n  public :: statkit_sum, statkit_backend\ncontains\n"
        "  pure integer function statkit_sum(values)\n"
        "    integer, intent(in) :: values(:)\n    integer :: i\n    statkit_sum = 0\n"
        "    do i = 1, size(values)\n      statkit_sum = numkit_add(statkit_sum, values(i))\n"
        "    end do\n  end function statkit_sum\n"
        "  function statkit_backend() result(text)\n"
        "    character(len=:), allocatable :: text\n"
        "    text = 'numkit ' // numkit_release()\n  end function statkit_backend\n"
        "end module statkit\n"
    ),
    "test/check.f90": (
        "program check\n  use statkit, only: statkit_sum\n  implicit none\n"
        "  if (statkit_sum([1, 2, 3]) /= 6) stop 1\n"
        "  print '(a)', 'statkit tests passed'\nend program check\n"
    ),
}

SUMAPP = {
    "fpm.toml": manifest("sumapp", "1.0.0", ["statkit"]),
    "app/main.f90": (
        "program main\n  use statkit, only: statkit_sum, statkit_backend\n  implicit none\n"
        "  print '(a, i0, 2a)', 'sum = ', statkit_sum([1, 2, 3, 4]), ' using ', "
        "statkit_backend()\nend program main\n"
    ),
    "test/check.f90": (
        "program check\n  use statkit, only: statkit_sum\n  implicit none\n"
        "  if (statkit_sum([10, 20]) /= 30) stop 1\n"
        "  print '(a)', 'sumapp tests passed'\nend program check\n"
    ),
}


def commit(fpm: Fpm, project: Path, files: dict[str, str], message: str) -> Path:
    """Write `files` (plus README, LICENSE, .gitignore) and commit them."""
    first = not project.exists()
    common = {
        "README.md": f"# {project.name}\n",
        "LICENSE": "MIT License\n",
        ".gitignore": GITIGNORE,
    }
    for path, text in {**common, **files}.items():
        (project / path).parent.mkdir(parents=True, exist_ok=True)
        (project / path).write_text(text)
    if first:
        fpm.git("init", "-q", cwd=project)
    fpm.git("add", "-A", cwd=project)
    fpm.git("commit", "-q", "-m", message, cwd=project)
    return project


class Client:
    """The `fpmreg` command, run as a user runs it, with fpm's isolated HOME."""

    def __init__(self, fpm: Fpm, server: LiveServer) -> None:
        self.server = server
        self.env = {
            **fpm.environment(),
            "FPMREG_REGISTRY": server.url,
            "FPMREG_FPM": str(fpm.install.binary),
            "GIT_CONFIG_GLOBAL": os.devnull,
        }
        self.cache = fpm.home / ".cache" / "fpmreg"

    def __call__(
        self, *args: str | Path, cwd: Path, token: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        env = {**self.env, **({"FPMREG_TOKEN": token} if token else {})}
        argv = [str(FPMREG), *map(str, args)]
        return subprocess.run(
            argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False
        )

    def ok(self, *args: str | Path, cwd: Path, token: str | None = None) -> str:
        result = self(*args, cwd=cwd, token=token)
        assert result.returncode == 0, output(result)
        return output(result)


def files_of(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def locked_version(app: Path, name: str) -> str:
    lock = tomllib.loads((app / "fpm.lock").read_text())
    return next(p["version"] for p in lock["package"] if p["name"] == name)


def locked_sha(app: Path, name: str) -> str:
    lock = tomllib.loads((app / "fpm.lock").read_text())
    return next(p["sha256"] for p in lock["package"] if p["name"] == name)


def run_app(fpm: Fpm, app: Path, config_file: Path | None = None) -> str:
    result = fpm.run("run", cwd=app, config_file=config_file or app / CONFIG)
    assert result.returncode == 0, output(result)
    return result.stdout


@pytest.mark.e2e
def test_fpm_builds_exactly_the_locked_and_verified_versions(
    fpm: Fpm, live_server: LiveServer, tmp_path: Path
) -> None:
    token = live_server.publisher_token(NAMESPACE, scopes={Scope.PUBLISH, Scope.YANK})
    fpmreg = Client(fpm, live_server)
    numkit = commit(fpm, tmp_path / "numkit", numkit_files("1.0.0"), "numkit 1.0.0")
    statkit = commit(fpm, tmp_path / "statkit", STATKIT, "statkit 1.0.0")
    app = commit(fpm, tmp_path / "sumapp", SUMAPP, "sumapp 1.0.0")
    # Each package's own tests pass before it is published; statkit's and sumapp's
    # dependencies come from the registry once it has them, through lock and sync.
    for package in (numkit, statkit, app):
        if package is not numkit:
            fpmreg.ok("lock", cwd=package)
            fpmreg.ok("sync", cwd=package)
        config_file = None if package is numkit else package / CONFIG
        tests = fpm.run("test", cwd=package, config_file=config_file)
        assert tests.returncode == 0, output(tests)
        assert f"{package.name} tests passed" in tests.stdout
        published = fpmreg.ok("publish", package, cwd=tmp_path, token=token)
        assert f"published `{NAMESPACE}/{package.name}` 1.0.0" in published
    shutil.rmtree(app / "build")
    (app / "fpm.lock").unlink()

    # Lock and sync: the closure of sumapp, pinned and verified.
    locked = fpmreg.ok("lock", cwd=app)
    assert "wrote fpm.lock for `sumapp`: 2 packages, 2 changed" in locked
    assert (locked_version(app, "numkit"), locked_version(app, "statkit")) == ("1.0.0", "1.0.0")
    assert "fpm.lock is up to date" in fpmreg.ok("lock", "--check", cwd=app)
    synced = fpmreg.ok("sync", cwd=app)
    assert f"build with: fpm build --config-file {CONFIG}" in synced
    assert sorted(p.name for p in (app / REGISTRY / NAMESPACE).iterdir()) == ["numkit", "statkit"]

    # The real fpm builds, tests and runs against the synced folder, fetching nothing.
    fpm.clear_curl_log()
    build = fpm.run("build", cwd=app, config_file=app / CONFIG)
    assert build.returncode == 0, output(build)
    tests = fpm.run("test", cwd=app, config_file=app / CONFIG)
    assert tests.returncode == 0, output(tests)
    assert "sumapp tests passed" in tests.stdout
    assert APP_LINE.format(version="1.0.0") in run_app(fpm, app)
    assert fpm.curl_calls() == []
    cache = (app / "build" / "cache.toml").read_text()
    assert str(app / REGISTRY / NAMESPACE / "numkit" / "1.0.0") in cache
    # The same through `fpmreg fpm`, which adds `--config-file` after the command.
    via_fpmreg = fpmreg("fpm", "--", "run", cwd=app)
    assert via_fpmreg.returncode == 0, output(via_fpmreg)
    assert APP_LINE.format(version="1.0.0") in via_fpmreg.stdout

    # A newer numkit is published: the locked build does not move.
    commit(fpm, numkit, numkit_files("1.1.0"), "numkit 1.1.0")
    assert "published `pin/numkit` 1.1.0" in fpmreg.ok("publish", numkit, cwd=tmp_path, token=token)
    assert "fpm.lock is up to date" in fpmreg.ok("lock", cwd=app)
    assert "(2 already there, 0 installed" in fpmreg.ok("sync", cwd=app)
    assert APP_LINE.format(version="1.0.0") in run_app(fpm, app)

    # The locked numkit is yanked: it stays installable (from the registry, not only the
    # cache); `lock` keeps it with a warning, `lock --update` moves to the newest one.
    yanked = fpmreg.ok("yank", "pin/numkit@1.0.0", "--reason", "adds wrongly", cwd=app, token=token)
    assert "yanked `pin/numkit` 1.0.0: adds wrongly" in yanked
    shutil.rmtree(fpmreg.cache / "blobs")
    resynced = fpmreg.ok("sync", "--force", cwd=app)
    assert "2 installed, 0 from the cache" in resynced
    assert APP_LINE.format(version="1.0.0") in run_app(fpm, app)
    kept = fpmreg.ok("lock", cwd=app)
    assert "warning[yanked-locked]" in kept
    assert locked_version(app, "numkit") == "1.0.0"
    moved = fpmreg.ok("lock", "--update", cwd=app)
    assert "from 1.0.0" in moved
    assert locked_version(app, "numkit") == "1.1.0"
    updated = fpmreg.ok("sync", cwd=app)
    assert "installed `pin/numkit` 1.1.0" in updated
    assert "removed   `pin/numkit` 1.0.0" in updated
    assert "removed build/cache.toml" in updated
    assert "removed 1 library archive(s) fpm built" in updated
    assert sorted(p.name for p in (app / REGISTRY / NAMESPACE / "numkit").iterdir()) == ["1.1.0"]
    assert APP_LINE.format(version="1.1.0") in run_app(fpm, app)
    retest = fpm.run("test", cwd=app, config_file=app / CONFIG)
    assert retest.returncode == 0, output(retest)

    # numkit 1.2.0 is locked, but the registry's stored tarball is tampered with: sync
    # refuses it, naming the package and both digests, and the installed tree stays.
    commit(fpm, numkit, numkit_files("1.2.0"), "numkit 1.2.0")
    fpmreg.ok("publish", numkit, cwd=tmp_path, token=token)
    fpmreg.ok("lock", "--update", "numkit", cwd=app)
    expected = locked_sha(app, "numkit")
    blob = live_server.storage / "sha256" / expected[:2] / expected[2:4] / expected
    blob.write_bytes(blob.read_bytes() + b"\0")
    served = hashlib.sha256(blob.read_bytes()).hexdigest()
    shutil.rmtree(fpmreg.cache / "blobs")
    before = files_of(app / "build" / "fpmreg")

    refused = fpmreg("sync", cwd=app)

    assert refused.returncode == 1, output(refused)
    assert (
        f"checksum mismatch for `pin/numkit` 1.2.0: `{live_server.url}` sent a tarball with "
        f"sha256 {served}, but fpm.lock records sha256 {expected}"
    ) in refused.stderr
    assert "nothing was installed or replaced" in refused.stderr
    assert files_of(app / "build" / "fpmreg") == before
    assert APP_LINE.format(version="1.1.0") in run_app(fpm, app)

    # CI: `lock --check` fails once fpm.toml's dependencies change.
    (app / "fpm.toml").write_text(
        manifest("sumapp", "1.0.0", ["statkit"])
        + f'numkit = {{ namespace = "{NAMESPACE}", v = "1.0.0" }}\n'
    )
    stale = fpmreg("lock", "--check", cwd=app)
    assert stale.returncode == 1, output(stale)
    assert "fpm.lock has `pin/numkit` 1.2.0, but fpm.toml asks for `=1.0.0`" in stale.stderr


@pytest.mark.e2e
def test_a_mirror_folder_builds_offline_wherever_it_is_copied(
    fpm: Fpm, live_server: LiveServer, tmp_path: Path
) -> None:
    token = live_server.publisher_token(NAMESPACE)
    fpmreg = Client(fpm, live_server)
    numkit = commit(fpm, tmp_path / "numkit", numkit_files("1.0.0"), "numkit 1.0.0")
    for package in (numkit, commit(fpm, tmp_path / "statkit", STATKIT, "statkit 1.0.0")):
        fpmreg.ok("publish", package, cwd=tmp_path, token=token)
    app = commit(fpm, tmp_path / "sumapp", SUMAPP, "sumapp 1.0.0")
    fpmreg.ok("lock", cwd=app)
    commit(fpm, numkit, numkit_files("1.1.0"), "numkit 1.1.0")
    fpmreg.ok("publish", numkit, cwd=tmp_path, token=token)
    locked_only = tmp_path / "online" / "locked"
    everything = tmp_path / "online" / "all"

    assert "2 new, 0 already" in fpmreg.ok("mirror", locked_only, "--lock", "fpm.lock", cwd=app)
    assert "3 new, 0 already" in fpmreg.ok("mirror", everything, "--namespace", "pin", cwd=app)

    # Offline: the registry is gone, the folders are copied to another machine's disk.
    live_server.stop()
    hpc = tmp_path / "hpc"
    shutil.copytree(tmp_path / "online", hpc)
    # The locked closure: one version per package, so fpm builds exactly the lock.
    assert APP_LINE.format(version="1.0.0") in run_app(fpm, app, hpc / "locked" / "fpm-config.toml")
    # The whole namespace: fpm takes the highest version, unless `v` names the folder.
    # Pointing fpm at another folder needs a clean build: fpm would keep using its
    # resolution (build/cache.toml) and the objects already in its library archive.
    shutil.rmtree(app / "build")
    assert APP_LINE.format(version="1.1.0") in run_app(fpm, app, hpc / "all" / "fpm-config.toml")
    (app / "fpm.toml").write_text(
        manifest("sumapp", "1.0.0", ["statkit"])
        + f'numkit = {{ namespace = "{NAMESPACE}", v = "1.0.0" }}\n'
    )
    shutil.rmtree(app / "build")
    assert APP_LINE.format(version="1.0.0") in run_app(fpm, app, hpc / "all" / "fpm-config.toml")
