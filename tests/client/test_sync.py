"""`fpmreg sync` and `fpmreg fpm` against a real registry process: exactly the locked
versions, verified, in fpm's local-registry layout."""

from __future__ import annotations

import hashlib
import json
import shutil
import stat
import tomllib
from pathlib import Path

import pytest

from fpmreg.client.download import DOWNLOAD_ATTEMPTS
from tests.client.conftest import fpmreg
from tests.client.flaky import DROPPED, MISSING, SERVER_ERROR, UNAVAILABLE, flaky_registry
from tests.client.pinning import blob_path, publish, snapshot, token_for, write_project
from tests.support.live import LiveServer

REGISTRY = Path("build") / "fpmreg" / "registry"
CONFIG = Path("build") / "fpmreg" / "config.toml"


@pytest.fixture(autouse=True)
def private_cache(isolated: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The client's cache under the test's HOME, whatever the caller's XDG_CACHE_HOME."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(isolated / ".cache"))
    return isolated / ".cache" / "fpmreg"


@pytest.fixture
def project(live_server: LiveServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """`app` → `pin/statkit` 1.0.0 → `pin/numkit` 1.0.0, locked; the current folder."""
    token = token_for(live_server)
    publish(live_server, token, "numkit", "1.0.0")
    publish(live_server, token, "statkit", "1.0.0", {"numkit": ""})
    root = write_project(tmp_path / "app", {"statkit": ""})
    monkeypatch.chdir(root)
    run = fpmreg("lock", "--registry", live_server.url)
    assert run.exit_code == 0, run.output
    return root


def versions_in(project: Path, name: str) -> list[str]:
    return sorted(p.name for p in (project / REGISTRY / "pin" / name).iterdir())


def test_sync_installs_the_locked_versions_where_fpm_looks(project: Path) -> None:
    run = fpmreg("sync")

    assert run.exit_code == 0, run.output
    registry = project / REGISTRY
    for name in ("numkit", "statkit"):
        assert versions_in(project, name) == ["1.0.0"]
        manifest = tomllib.loads((registry / "pin" / name / "1.0.0" / "fpm.toml").read_text())
        assert manifest["name"] == name
    source = registry / "pin" / "numkit" / "1.0.0" / "src" / "numkit.f90"
    assert stat.S_IMODE(source.stat().st_mode) == 0o644
    assert tomllib.loads((project / CONFIG).read_text()) == {"registry": {"path": str(registry)}}
    assert "installed `pin/numkit` 1.0.0" in run.stdout
    assert "installed `pin/statkit` 1.0.0" in run.stdout
    assert run.stdout.rstrip().endswith(
        "build with: fpm build --config-file build/fpmreg/config.toml"
    )


def test_a_second_sync_changes_nothing(project: Path) -> None:
    assert fpmreg("sync").exit_code == 0
    registry = project / REGISTRY
    before = {p: p.stat().st_mtime_ns for p in registry.rglob("*")}

    run = fpmreg("sync")

    assert run.exit_code == 0, run.output
    assert "installed" not in run.stdout.replace("0 installed", "")
    assert "2 packages in build/fpmreg/registry (2 already there, 0 installed" in run.stdout
    assert {p: p.stat().st_mtime_ns for p in registry.rglob("*")} == before


def test_sync_replaces_and_removes_stale_version_folders(
    project: Path, live_server: LiveServer
) -> None:
    assert fpmreg("sync").exit_code == 0
    # Whatever else is in a locked package's folder would make fpm pick another version.
    (project / REGISTRY / "pin" / "numkit" / "0.9.0").mkdir()
    (project / "build" / "cache.toml").write_text("[numkit]\nversion = '1.0.0'\n")
    fpm_library = project / "build" / "gfortran_0123456789ABCDEF" / "app" / "libapp.a"
    other_library = project / "build" / "mine" / "app" / "libapp.a"
    for library in (fpm_library, other_library):
        library.parent.mkdir(parents=True)
        library.write_bytes(b"!<arch>\n")
    publish(live_server, token_for(live_server), "numkit", "1.1.0")
    assert fpmreg("lock", "--update", "numkit").exit_code == 0

    run = fpmreg("sync")

    assert run.exit_code == 0, run.output
    assert versions_in(project, "numkit") == ["1.1.0"]
    assert versions_in(project, "statkit") == ["1.0.0"]
    assert "installed `pin/numkit` 1.1.0" in run.stdout
    assert "removed   `pin/numkit` 0.9.0" in run.stdout
    assert "removed   `pin/numkit` 1.0.0" in run.stdout
    assert not (project / "build" / "cache.toml").exists()
    assert "removed build/cache.toml, so that fpm resolves the synced versions again" in run.stdout
    # fpm's `ar -rs` would keep numkit 1.0.0's objects in its library, and link them.
    assert not fpm_library.exists()
    assert other_library.exists()
    assert "removed 1 library archive(s) fpm built" in run.stdout


def test_packages_no_longer_locked_are_removed(project: Path) -> None:
    assert fpmreg("sync").exit_code == 0
    write_project(project, {"numkit": ""})
    assert fpmreg("lock").exit_code == 0

    run = fpmreg("sync")

    assert run.exit_code == 0, run.output
    assert sorted(p.name for p in (project / REGISTRY / "pin").iterdir()) == ["numkit"]
    assert "removed   `pin/statkit` 1.0.0" in run.stdout
    state = json.loads((project / REGISTRY / ".fpmreg-sync.json").read_text())
    assert list(state["packages"]) == ["pin/numkit"]


def test_sync_works_with_the_server_stopped_when_everything_is_cached(
    project: Path, live_server: LiveServer
) -> None:
    assert fpmreg("sync").exit_code == 0
    installed = snapshot(project / REGISTRY)
    shutil.rmtree(project / REGISTRY)
    live_server.stop()

    run = fpmreg("sync")

    assert run.exit_code == 0, run.output
    assert "2 installed, 2 from the cache" in run.stdout
    assert snapshot(project / REGISTRY) == installed


def test_without_the_cache_and_the_server_sync_fails_and_changes_nothing(
    project: Path, live_server: LiveServer, private_cache: Path
) -> None:
    assert fpmreg("sync").exit_code == 0
    installed = snapshot(project)

    shutil.rmtree(private_cache / "blobs")
    live_server.stop()

    run = fpmreg("sync", "--force")

    assert run.exit_code == 1
    # The registry is down: one line names it, not one per package.
    assert run.stderr.count(f"cannot reach the registry at `{live_server.url}`") == 1
    assert "2 of 2 packages could not be fetched and verified" in run.stderr
    assert "nothing was installed or replaced" in run.stderr
    assert snapshot(project) == installed


def test_a_tarball_with_another_checksum_is_refused_and_nothing_changes(
    project: Path, live_server: LiveServer, private_cache: Path
) -> None:
    assert fpmreg("sync").exit_code == 0
    installed = snapshot(project)
    lock = tomllib.loads((project / "fpm.lock").read_text())
    numkit = next(p for p in lock["package"] if p["name"] == "numkit")
    blob = blob_path(live_server, numkit["sha256"])
    blob.write_bytes(blob.read_bytes()[:-8] + b"tampered")

    served = hashlib.sha256(blob.read_bytes()).hexdigest()
    shutil.rmtree(private_cache / "blobs")

    run = fpmreg("sync", "--force")

    assert run.exit_code == 1
    assert (
        f"checksum mismatch for `pin/numkit` 1.0.0: `{live_server.url}` sent a tarball with "
        f"sha256 {served}, but fpm.lock records sha256 {numkit['sha256']}"
    ) in run.stderr
    assert snapshot(project) == installed
    # The bad bytes never reach the cache.
    assert not list((private_cache / "blobs").rglob(served))


def test_a_damaged_cache_entry_is_downloaded_again(
    project: Path, live_server: LiveServer, private_cache: Path
) -> None:
    assert fpmreg("sync").exit_code == 0
    lock = tomllib.loads((project / "fpm.lock").read_text())
    numkit = next(p for p in lock["package"] if p["name"] == "numkit")
    cached = next((private_cache / "blobs").rglob(numkit["sha256"]))
    good = cached.read_bytes()
    cached.write_bytes(b"not the tarball")

    run = fpmreg("sync", "--force")

    assert run.exit_code == 0, run.output
    assert "2 installed, 1 from the cache" in run.stdout
    assert cached.read_bytes() == good


def test_sync_needs_a_lock(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_project(tmp_path / "app", {"numkit": ""})
    monkeypatch.chdir(tmp_path / "app")

    run = fpmreg("sync")

    assert run.exit_code == 2
    assert "no fpm.lock in `.`: run `fpmreg lock` first" in run.stderr


def test_sync_warns_when_fpm_toml_moved_on(project: Path) -> None:
    write_project(project, {"statkit": "", "numkit": "1.0"})

    run = fpmreg("sync")

    assert run.exit_code == 0, run.output
    assert "warning: the dependency tables of fpm.toml changed since fpm.lock" in run.stderr
    assert 'fpm.toml asks for `pin/numkit` with `v = "1.0"`' in run.stderr
    assert 'write `v = "1.0.0"`' in run.stderr


def test_sync_into_a_chosen_folder(project: Path, tmp_path: Path) -> None:
    run = fpmreg("sync", "--dest", tmp_path / "deps", "--config", tmp_path / "deps.toml", "-j", "1")

    assert run.exit_code == 0, run.output
    assert (tmp_path / "deps" / "pin" / "numkit" / "1.0.0" / "fpm.toml").is_file()
    assert f'path = "{tmp_path / "deps"}"' in (tmp_path / "deps.toml").read_text()
    assert f"build with: fpm build --config-file {tmp_path / 'deps.toml'}" in run.stdout


def test_fpm_runs_with_the_synced_config_after_its_command(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert fpmreg("sync").exit_code == 0
    log = tmp_path / "argv.txt"
    fake = tmp_path / "fake-fpm"
    fake.write_text(f'#!/bin/sh\nprintf "%s\\n" "$@" > {log}\nexit 3\n')
    fake.chmod(0o755)
    monkeypatch.setenv("FPMREG_FPM", str(fake))

    run = fpmreg("fpm", "--", "run", "--profile", "release")

    assert run.exit_code == 3
    assert log.read_text().splitlines() == [
        "run",
        "--config-file",
        str(project / CONFIG),
        "--profile",
        "release",
    ]


def test_fpm_before_sync_says_what_to_do(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)

    run = fpmreg("fpm", "--", "build")

    assert run.exit_code == 2
    assert "run `fpmreg sync` first" in run.stderr


def test_sync_writes_an_fpm_config_that_names_any_folder_exactly(
    project: Path, tmp_path: Path
) -> None:
    # Quotes, a backslash, DEL, a line separator, an emoji: all legal in a folder name.
    dest = tmp_path / 'deps "x" \\ \x7f \u2028 \U0001f600'
    config = tmp_path / "deps.toml"

    run = fpmreg("sync", "--dest", dest, "--config", config)

    assert run.exit_code == 0, run.output
    assert tomllib.loads(config.read_text(encoding="utf-8")) == {"registry": {"path": str(dest)}}
    assert (dest / "pin" / "numkit" / "1.0.0" / "fpm.toml").is_file()


# --- downloads that fail, then work (or not) ----------------------------------------


def test_downloads_are_retried_after_503s_and_dropped_connections(
    project: Path, live_server: LiveServer
) -> None:
    plan = {"numkit": [UNAVAILABLE, UNAVAILABLE], "statkit": [DROPPED]}
    with flaky_registry(live_server.url, plan) as flaky:
        run = fpmreg("sync", "--registry", flaky.url)

    assert run.exit_code == 0, run.output
    assert "installed `pin/numkit` 1.0.0" in run.stdout
    assert "installed `pin/statkit` 1.0.0" in run.stdout
    # Each failure is followed by one more attempt, well within the policy's bound.
    assert dict(flaky.attempts) == {"numkit": 3, "statkit": 2}
    assert DOWNLOAD_ATTEMPTS >= 3


def test_a_persistent_500_fails_after_the_bounded_attempts_and_keeps_what_verified(
    project: Path, live_server: LiveServer
) -> None:
    plan = {"statkit": [SERVER_ERROR] * (DOWNLOAD_ATTEMPTS + 5)}
    with flaky_registry(live_server.url, plan) as flaky:
        run = fpmreg("sync", "--registry", flaky.url)

    assert run.exit_code == 1
    assert dict(flaky.attempts) == {"numkit": 1, "statkit": DOWNLOAD_ATTEMPTS}
    assert (
        f"error: cannot download `pin/statkit` 1.0.0 from `{flaky.url}` after "
        f"{DOWNLOAD_ATTEMPTS} attempts: HTTP 500; check the registry URL, or try again later"
    ) in run.stderr
    assert "1 of 2 packages could not be fetched and verified; nothing was installed" in run.stderr
    assert "the 1 that verified are kept in the cache: run the command again" in run.stderr
    assert not (project / REGISTRY).exists()
    # numkit verified: the next sync takes it from the cache and downloads statkit only.
    again = fpmreg("sync")
    assert again.exit_code == 0, again.output
    assert "(0 already there, 2 installed, 1 from the cache)" in again.stdout


def test_a_4xx_is_not_retried_and_its_reason_is_shown(
    project: Path, live_server: LiveServer
) -> None:
    plan = {"numkit": [MISSING] * (DOWNLOAD_ATTEMPTS + 5)}
    with flaky_registry(live_server.url, plan) as flaky:
        run = fpmreg("sync", "--registry", flaky.url)

    assert run.exit_code == 1
    assert flaky.attempts["numkit"] == 1
    assert f"error: cannot download `pin/numkit` 1.0.0 from `{flaky.url}`: HTTP 404: " in (
        run.stderr
    )
