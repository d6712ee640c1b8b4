"""`fpmreg lock` against a real registry process: what fpm.lock holds, and when it moves."""

from __future__ import annotations

import hashlib
import tomllib
from pathlib import Path

import httpx
import pytest

from fpmreg.client.index import HttpIndex, cache_root, new_client
from tests.client.conftest import fpmreg
from tests.client.pinning import NAMESPACE, publish, token_for, write_project, yank
from tests.support.live import LiveServer


@pytest.fixture(autouse=True)
def private_cache(isolated: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The client's cache under the test's HOME, whatever the caller's XDG_CACHE_HOME."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(isolated / ".cache"))
    return isolated / ".cache" / "fpmreg"


def locked(project: Path) -> dict[str, tuple[str, str]]:
    """`namespace/name` → (version, sha256) from the project's fpm.lock."""
    document = tomllib.loads((project / "fpm.lock").read_text())
    return {
        f"{p['namespace']}/{p['name']}": (p["version"], p["sha256"]) for p in document["package"]
    }


def test_lock_records_the_whole_graph_with_checksums(
    live_server: LiveServer, tmp_path: Path
) -> None:
    token = token_for(live_server)
    bottom = publish(live_server, token, "numkit", "1.0.0")
    middle = publish(live_server, token, "statkit", "1.0.0", {"numkit": ""})
    project = write_project(tmp_path / "app", {"statkit": ""})

    run = fpmreg("lock", "-C", project, "--registry", live_server.url)

    assert run.exit_code == 0, run.output
    assert locked(project) == {
        "pin/numkit": ("1.0.0", bottom),
        "pin/statkit": ("1.0.0", middle),
    }
    document = tomllib.loads((project / "fpm.lock").read_text())
    assert {p["registry"] for p in document["package"]} == {live_server.url}
    assert document["root"]["name"] == "app"
    statkit = next(p for p in document["package"] if p["name"] == "statkit")
    assert statkit["dependencies"] == ["pin/numkit"]
    assert "pin/numkit" in run.stdout and "added" in run.stdout
    assert "wrote fpm.lock for `app`: 2 packages, 2 changed" in run.stdout


def test_locking_twice_gives_the_same_bytes_and_leaves_the_file_alone(
    live_server: LiveServer, tmp_path: Path
) -> None:
    token = token_for(live_server)
    publish(live_server, token, "numkit", "1.0.0")
    publish(live_server, token, "statkit", "1.0.0", {"numkit": ""})
    project = write_project(tmp_path / "app", {"statkit": "", "numkit": "1.0.0"})
    assert fpmreg("lock", "-C", project, "--registry", live_server.url).exit_code == 0
    first = (project / "fpm.lock").read_bytes()
    written_at = (project / "fpm.lock").stat().st_mtime_ns

    again = fpmreg("lock", "-C", project, "--registry", live_server.url)

    assert again.exit_code == 0, again.output
    assert (project / "fpm.lock").read_bytes() == first
    assert (project / "fpm.lock").stat().st_mtime_ns == written_at
    assert "fpm.lock is up to date: 2 packages for `app`" in again.stdout


def test_the_registry_recorded_in_the_lock_is_used_without_registry_option(
    live_server: LiveServer, tmp_path: Path
) -> None:
    token = token_for(live_server)
    publish(live_server, token, "numkit", "1.0.0")
    project = write_project(tmp_path / "app", {"numkit": ""})
    assert fpmreg("lock", "-C", project, "--registry", live_server.url).exit_code == 0
    publish(live_server, token, "numkit", "1.1.0")

    run = fpmreg("lock", "-C", project, "--update")

    assert run.exit_code == 0, run.output
    assert locked(project)["pin/numkit"][0] == "1.1.0"


def test_newer_versions_do_not_move_a_locked_package(
    live_server: LiveServer, tmp_path: Path
) -> None:
    token = token_for(live_server)
    publish(live_server, token, "numkit", "1.0.0")
    project = write_project(tmp_path / "app", {"numkit": ""})
    assert fpmreg("lock", "-C", project, "--registry", live_server.url).exit_code == 0
    publish(live_server, token, "numkit", "1.1.0")

    run = fpmreg("lock", "-C", project, "--registry", live_server.url)

    assert run.exit_code == 0, run.output
    assert locked(project)["pin/numkit"][0] == "1.0.0"


def test_update_with_a_name_moves_only_that_package(
    live_server: LiveServer, tmp_path: Path
) -> None:
    token = token_for(live_server)
    for name in ("numkit", "fmtkit"):
        publish(live_server, token, name, "1.0.0")
    project = write_project(tmp_path / "app", {"numkit": "", "fmtkit": ""})
    assert fpmreg("lock", "-C", project, "--registry", live_server.url).exit_code == 0
    newest = {name: publish(live_server, token, name, "1.1.0") for name in ("numkit", "fmtkit")}

    run = fpmreg("lock", "-C", project, "--registry", live_server.url, "--update", "numkit")

    assert run.exit_code == 0, run.output
    assert locked(project)["pin/numkit"] == ("1.1.0", newest["numkit"])
    assert locked(project)["pin/fmtkit"][0] == "1.0.0"
    assert "from 1.0.0" in run.stdout

    everything = fpmreg("lock", "-C", project, "--registry", live_server.url, "--update")

    assert everything.exit_code == 0, everything.output
    assert locked(project) == {
        "pin/numkit": ("1.1.0", newest["numkit"]),
        "pin/fmtkit": ("1.1.0", newest["fmtkit"]),
    }


def test_a_yanked_locked_version_is_kept_until_updated(
    live_server: LiveServer, tmp_path: Path
) -> None:
    token = token_for(live_server)
    publish(live_server, token, "numkit", "1.0.0")
    project = write_project(tmp_path / "app", {"numkit": ""})
    assert fpmreg("lock", "-C", project, "--registry", live_server.url).exit_code == 0
    publish(live_server, token, "numkit", "1.1.0")
    yank(live_server, token, "numkit", "1.0.0")

    kept = fpmreg("lock", "-C", project, "--registry", live_server.url)

    assert kept.exit_code == 0, kept.output
    assert locked(project)["pin/numkit"][0] == "1.0.0"
    assert "warning[yanked-locked]" in kept.stderr
    assert "fpmreg lock --update numkit" in kept.stderr

    moved = fpmreg("lock", "-C", project, "--registry", live_server.url, "--update", "numkit")

    assert moved.exit_code == 0, moved.output
    assert locked(project)["pin/numkit"][0] == "1.1.0"


def test_check_passes_after_lock_and_fails_once_fpm_toml_changes(
    live_server: LiveServer, tmp_path: Path
) -> None:
    token = token_for(live_server)
    publish(live_server, token, "numkit", "1.0.0")
    publish(live_server, token, "fmtkit", "1.0.0")
    project = write_project(tmp_path / "app", {"numkit": ""})
    assert fpmreg("lock", "-C", project, "--registry", live_server.url).exit_code == 0
    before = (project / "fpm.lock").read_bytes()

    ok = fpmreg("lock", "-C", project, "--check")

    assert ok.exit_code == 0, ok.output
    assert "fpm.lock is up to date: 1 packages" in ok.stdout

    write_project(project, {"numkit": "", "fmtkit": ""})
    stale = fpmreg("lock", "-C", project, "--check")

    assert stale.exit_code == 1, stale.output
    assert "`pin/fmtkit` (in [dependencies]) is not in fpm.lock: run `fpmreg lock`" in stale.stderr
    assert "fpm.lock is out of date" in stale.stderr
    assert (project / "fpm.lock").read_bytes() == before


def test_check_fails_when_the_registry_disagrees_with_the_lock(
    live_server: LiveServer, tmp_path: Path
) -> None:
    token = token_for(live_server)
    published = publish(live_server, token, "numkit", "1.0.0")
    project = write_project(tmp_path / "app", {"numkit": ""})
    assert fpmreg("lock", "-C", project, "--registry", live_server.url).exit_code == 0
    forged = hashlib.sha256(b"something else").hexdigest()
    lock_file = project / "fpm.lock"
    lock_file.write_text(lock_file.read_text().replace(published, forged))

    run = fpmreg("lock", "-C", project, "--check")

    assert run.exit_code == 1, run.output
    assert f"has sha256 {published} in the registry, but fpm.lock recorded {forged}" in run.stderr

    refused = fpmreg("lock", "-C", project)

    assert refused.exit_code == 1
    assert "error[checksum-mismatch]" in refused.stderr
    assert "fpm.lock not written" in refused.stderr
    assert forged in lock_file.read_text()


def test_an_impossible_requirement_writes_no_lock(live_server: LiveServer, tmp_path: Path) -> None:
    token = token_for(live_server)
    publish(live_server, token, "numkit", "1.0.0")
    project = write_project(tmp_path / "app", {"numkit": "9.0.0"})

    run = fpmreg("lock", "-C", project, "--registry", live_server.url)

    assert run.exit_code == 1
    assert "cannot lock `app`: `app` needs `pin/numkit` `=9.0.0`, but no version matches" in (
        run.stderr
    )
    assert not (project / "fpm.lock").exists()


def test_an_unknown_package_is_named(live_server: LiveServer, tmp_path: Path) -> None:
    project = write_project(tmp_path / "app", {"ghost": ""})

    run = fpmreg("lock", "-C", project, "--registry", live_server.url)

    assert run.exit_code == 1
    assert "`app` needs `pin/ghost`, which is not in the registry" in run.stderr


def test_names_without_update_are_refused(tmp_path: Path) -> None:
    project = write_project(tmp_path / "app", {"numkit": ""})

    run = fpmreg("lock", "-C", project, "numkit")

    assert run.exit_code == 2
    assert "add `--update`" in run.stderr


def test_a_missing_fpm_toml_is_a_usage_error(tmp_path: Path) -> None:
    run = fpmreg("lock", "-C", tmp_path)

    assert run.exit_code == 2
    assert f"no fpm.toml in `{tmp_path}`" in run.stderr


def test_the_index_is_revalidated_with_its_etag(live_server: LiveServer) -> None:
    token = token_for(live_server)
    publish(live_server, token, "numkit", "1.0.0")
    with new_client(live_server.url) as client:
        first = HttpIndex(live_server.url, client, cache_root())
        assert [v.version for v in first.versions(NAMESPACE, "numkit")] == ["1.0.0"]
        assert first.revalidated == 0
        first.versions(NAMESPACE, "numkit")  # memoized: no second request
        assert first.requests == 1

        second = HttpIndex(live_server.url, client, cache_root())
        assert [v.version for v in second.versions(NAMESPACE, "numkit")] == ["1.0.0"]
        assert second.revalidated == 1

        publish(live_server, token, "numkit", "1.1.0")
        third = HttpIndex(live_server.url, client, cache_root())
        assert sorted(v.version for v in third.versions(NAMESPACE, "numkit")) == ["1.0.0", "1.1.0"]
        assert third.revalidated == 0


def test_an_unreachable_registry_is_reported(tmp_path: Path) -> None:
    project = write_project(tmp_path / "app", {"numkit": ""})

    run = fpmreg("lock", "-C", project, "--registry", "http://127.0.0.1:9")

    assert run.exit_code == 1
    assert "cannot reach the registry at `http://127.0.0.1:9`" in run.stderr
    assert not (project / "fpm.lock").exists()


def test_the_index_of_an_unknown_package_is_empty(live_server: LiveServer) -> None:
    with new_client(live_server.url) as client:
        assert HttpIndex(live_server.url, client).versions(NAMESPACE, "ghost") == []
    assert httpx.get(f"{live_server.url}/api/v1/index/{NAMESPACE}/ghost").status_code == 404
