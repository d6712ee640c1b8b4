"""`fpmreg mirror` against a real registry process: a verified local fpm registry folder,
filled incrementally."""

from __future__ import annotations

import hashlib
import json
import tomllib
from pathlib import Path

import pytest

from tests.client.conftest import fpmreg
from tests.client.pinning import (
    blob_path,
    publish,
    snapshot,
    token_for,
    write_project,
    yank,
)
from tests.support.live import LiveServer


@pytest.fixture(autouse=True)
def private_cache(isolated: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The client's cache under the test's HOME, whatever the caller's XDG_CACHE_HOME."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(isolated / ".cache"))
    return isolated / ".cache" / "fpmreg"


def folders(dest: Path) -> list[str]:
    """`ns/name/version` of every version folder in a mirror."""
    return sorted(str(p.parent.relative_to(dest)) for p in dest.glob("*/*/*/fpm.toml"))


def recorded(dest: Path) -> dict[str, str]:
    return dict(json.loads((dest / ".fpmreg-mirror.json").read_text())["versions"])


def test_a_namespace_is_mirrored_whole_then_incrementally(
    live_server: LiveServer, tmp_path: Path
) -> None:
    token = token_for(live_server)
    shas = {
        "numkit/1.0.0": publish(live_server, token, "numkit", "1.0.0"),
        "numkit/1.1.0": publish(live_server, token, "numkit", "1.1.0"),
        "statkit/1.0.0": publish(live_server, token, "statkit", "1.0.0", {"numkit": ""}),
    }
    yank(live_server, token, "numkit", "1.0.0")  # left out unless asked for
    other = live_server.publisher_token("elsewhere", username="other")
    publish(live_server, other, "outsider", "1.0.0", namespace="elsewhere")
    dest = tmp_path / "mirror"

    run = fpmreg("mirror", dest, "--namespace", "pin", "--registry", live_server.url)

    assert run.exit_code == 0, run.output
    assert folders(dest) == ["pin/numkit/1.1.0", "pin/statkit/1.0.0"]
    assert "left out 1 yanked version" in run.stderr and "--include-yanked" in run.stderr
    assert "2 new, 0 already in" in run.stdout

    with_yanked = ("mirror", dest, "--namespace", "pin", "--include-yanked")
    run = fpmreg(*with_yanked, "--registry", live_server.url)

    assert run.exit_code == 0, run.output
    assert folders(dest) == ["pin/numkit/1.0.0", "pin/numkit/1.1.0", "pin/statkit/1.0.0"]
    assert recorded(dest) == {f"pin/{k}": v for k, v in shas.items()}
    assert tomllib.loads((dest / "fpm-config.toml").read_text()) == {"registry": {"path": "."}}
    assert "1 new, 2 already in" in run.stdout and "yanked" not in run.stderr

    newest = publish(live_server, token, "numkit", "1.2.0")
    before = snapshot(dest / "pin" / "statkit")

    again = fpmreg("mirror", dest, "--namespace", "pin", "--registry", live_server.url)

    assert again.exit_code == 0, again.output
    assert "added `pin/numkit` 1.2.0" in again.stdout
    assert "1 new, 2 already in" in again.stdout  # the yanked 1.0.0 is not asked for
    assert recorded(dest)["pin/numkit/1.2.0"] == newest
    assert snapshot(dest / "pin" / "statkit") == before


def test_a_lock_file_mirrors_only_its_versions(live_server: LiveServer, tmp_path: Path) -> None:
    token = token_for(live_server)
    publish(live_server, token, "numkit", "1.0.0")
    publish(live_server, token, "statkit", "1.0.0", {"numkit": ""})
    project = write_project(tmp_path / "app", {"statkit": ""})
    assert fpmreg("lock", "-C", project, "--registry", live_server.url).exit_code == 0
    publish(live_server, token, "numkit", "1.1.0")
    dest = tmp_path / "mirror"

    run = fpmreg("mirror", dest, "--lock", project / "fpm.lock")

    assert run.exit_code == 0, run.output
    assert folders(dest) == ["pin/numkit/1.0.0", "pin/statkit/1.0.0"]


def test_all_pages_of_the_registry_are_mirrored(live_server: LiveServer, tmp_path: Path) -> None:
    token = token_for(live_server)
    names = [f"lib{i:02d}" for i in range(23)]  # more than one page of 20
    for name in names:
        publish(live_server, token, name, "1.0.0")
    dest = tmp_path / "mirror"

    run = fpmreg("mirror", dest, "--all", "--registry", live_server.url, "--jobs", "4")

    assert run.exit_code == 0, run.output
    assert folders(dest) == [f"pin/{name}/1.0.0" for name in names]


def test_a_changed_checksum_for_a_mirrored_version_is_refused(
    live_server: LiveServer, tmp_path: Path
) -> None:
    token = token_for(live_server)
    published = publish(live_server, token, "numkit", "1.0.0")
    dest = tmp_path / "mirror"
    assert (
        fpmreg("mirror", dest, "--namespace", "pin", "--registry", live_server.url).exit_code == 0
    )
    # As if the registry now served other bytes under the same version.
    forged = hashlib.sha256(b"forged").hexdigest()
    state = dest / ".fpmreg-mirror.json"
    state.write_text(state.read_text().replace(published, forged))
    before = snapshot(dest)

    run = fpmreg("mirror", dest, "--namespace", "pin", "--registry", live_server.url)

    assert run.exit_code == 1
    assert (
        f"`pin/numkit` 1.0.0 was mirrored with sha256 {forged}, but the registry now says "
        f"{published}"
    ) in run.stderr
    assert snapshot(dest) == before


def test_a_tampered_tarball_is_not_mirrored(live_server: LiveServer, tmp_path: Path) -> None:
    token = token_for(live_server)
    good = publish(live_server, token, "numkit", "1.0.0")
    bad = publish(live_server, token, "numkit", "1.1.0")
    blob_path(live_server, bad).write_bytes(blob_path(live_server, good).read_bytes())
    dest = tmp_path / "mirror"

    run = fpmreg("mirror", dest, "--namespace", "pin", "--registry", live_server.url)

    assert run.exit_code == 1
    assert f"checksum mismatch for `pin/numkit` 1.1.0: `{live_server.url}` sent a tarball " in (
        run.stderr
    )
    assert folders(dest) == []


def test_one_source_must_be_named(tmp_path: Path) -> None:
    run = fpmreg("mirror", tmp_path / "m", "--all", "--namespace", "pin")

    assert run.exit_code == 2
    assert "one of `--namespace NS`, `--lock FILE`, `--all`" in run.stderr


def test_a_sync_folder_is_not_a_mirror(live_server: LiveServer, tmp_path: Path) -> None:
    (tmp_path / "synced").mkdir()
    (tmp_path / "synced" / ".fpmreg-sync.json").write_text("{}")

    run = fpmreg("mirror", tmp_path / "synced", "--all", "--registry", live_server.url)

    assert run.exit_code == 2
    assert "a folder `fpmreg sync` manages" in run.stderr


def test_an_empty_namespace_is_reported(live_server: LiveServer, tmp_path: Path) -> None:
    run = fpmreg("mirror", tmp_path / "m", "--namespace", "nobody", "--registry", live_server.url)

    assert run.exit_code == 0, run.output
    assert f"warning: `{live_server.url}` lists no packages in namespace `nobody`" in run.stderr
    assert "0 new, 0 already in" in run.stdout
