"""`fpmreg outdated` against a real registry process: locked, compatible and latest."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.client.conftest import fpmreg
from tests.client.pinning import publish, token_for, write_project, yank
from tests.support.live import LiveServer


@pytest.fixture(autouse=True)
def private_cache(isolated: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The client's cache under the test's HOME, whatever the caller's XDG_CACHE_HOME."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(isolated / ".cache"))


def ranged_project(root: Path, ranges: dict[str, str]) -> Path:
    """A project depending on `pin/NAME` for each name, limited by a range."""
    root.mkdir(parents=True)
    deps = "".join(f'{name} = {{ namespace = "pin" }}\n' for name in ranges)
    table = "".join(f'{name} = "{text}"\n' for name, text in ranges.items())
    (root / "fpm.toml").write_text(
        f'name = "app"\nversion = "0.1.0"\n\n[dependencies]\n{deps}\n'
        f"[extra.fpmreg.dependencies]\n{table}"
    )
    return root


def lock(server: LiveServer, project: Path) -> None:
    run = fpmreg("lock", "-C", project, "--registry", server.url)
    assert run.exit_code == 0, run.output


def outdated_json(project: Path, *args: str) -> tuple[int, dict[str, object]]:
    run = fpmreg("outdated", "-C", project, "--format", "json", *args)
    return run.exit_code, json.loads(run.stdout)


def test_outdated_shows_locked_compatible_and_latest(
    live_server: LiveServer, tmp_path: Path
) -> None:
    token = token_for(live_server)
    publish(live_server, token, "numkit", "1.0.0")
    project = ranged_project(tmp_path / "app", {"numkit": "^1.0"})
    lock(live_server, project)
    publish(live_server, token, "numkit", "1.1.0")
    publish(live_server, token, "numkit", "2.0.0")

    run = fpmreg("outdated", "-C", project)

    assert run.exit_code == 0, run.output
    row = next(line for line in run.stdout.splitlines() if "pin/numkit" in line)
    assert row.split() == ["pin/numkit", "^1.0", "1.0.0", "1.1.0", "2.0.0", "direct"]
    assert "`fpmreg lock --update` moves to the compatible versions" in run.stdout
    assert "hold back the latest versions" in run.stdout
    assert "1 of 1 packages of `app` are outdated" in run.stdout
    assert f"compared with `{live_server.url}`" in run.stderr


def test_outdated_json_lists_every_package_direct_and_transitive(
    live_server: LiveServer, tmp_path: Path
) -> None:
    token = token_for(live_server)
    publish(live_server, token, "numkit", "1.0.0")
    publish(live_server, token, "statkit", "1.0.0", {"numkit": ""})
    project = write_project(tmp_path / "app", {"statkit": ""})
    lock(live_server, project)
    publish(live_server, token, "numkit", "1.2.0")

    code, document = outdated_json(project)

    assert code == 0
    assert document["registry"] == live_server.url
    assert document["project"] == "app"
    assert document["outdated"] == 1
    assert document["packages"] == [
        {
            "namespace": "pin",
            "name": "numkit",
            "direct": False,
            "requirement": "",
            "locked": "1.0.0",
            "locked_yanked": False,
            "compatible": "1.2.0",
            "latest": "1.2.0",
            "outdated": True,
        },
        {
            "namespace": "pin",
            "name": "statkit",
            "direct": True,
            "requirement": "",
            "locked": "1.0.0",
            "locked_yanked": False,
            "compatible": "1.0.0",
            "latest": "1.0.0",
            "outdated": False,
        },
    ]


def test_exit_code_flag_fails_only_when_something_is_outdated(
    live_server: LiveServer, tmp_path: Path
) -> None:
    token = token_for(live_server)
    publish(live_server, token, "numkit", "1.0.0")
    project = write_project(tmp_path / "app", {"numkit": ""})
    lock(live_server, project)

    fresh = fpmreg("outdated", "-C", project, "--exit-code")
    publish(live_server, token, "numkit", "1.0.1")
    behind = fpmreg("outdated", "-C", project, "--exit-code")
    json_code, document = outdated_json(project, "--exit-code")

    assert fresh.exit_code == 0, fresh.output
    assert "all 1 packages of `app` are up to date" in fresh.stdout
    assert behind.exit_code == 1
    assert "1 of 1 packages of `app` are outdated" in behind.stdout
    assert json_code == 1 and document["outdated"] == 1


def test_a_pin_holds_compatible_at_the_locked_version(
    live_server: LiveServer, tmp_path: Path
) -> None:
    token = token_for(live_server)
    publish(live_server, token, "numkit", "1.0.0")
    project = write_project(tmp_path / "app", {"numkit": "1.0.0"})
    lock(live_server, project)
    publish(live_server, token, "numkit", "1.5.0")

    code, document = outdated_json(project)
    run = fpmreg("outdated", "-C", project)

    assert code == 0
    [row] = document["packages"]  # type: ignore[misc]
    assert (row["requirement"], row["locked"], row["compatible"], row["latest"]) == (
        "=1.0.0",
        "1.0.0",
        "1.0.0",
        "1.5.0",
    )
    assert row["outdated"] is True
    assert "hold back the latest versions" in run.stdout
    assert "lock --update" not in run.stdout


def test_a_yanked_locked_version_is_marked(live_server: LiveServer, tmp_path: Path) -> None:
    token = token_for(live_server)
    publish(live_server, token, "numkit", "1.0.0")
    publish(live_server, token, "numkit", "1.1.0")
    project = write_project(tmp_path / "app", {"numkit": ""})
    lock(live_server, project)
    yank(live_server, token, "numkit", "1.1.0")

    run = fpmreg("outdated", "-C", project)
    code, document = outdated_json(project)

    assert run.exit_code == 0, run.output
    assert code == 0
    row = next(line for line in run.stdout.splitlines() if "pin/numkit" in line)
    assert row.split() == ["pin/numkit", "*", "1.1.0", "(yanked)", "1.0.0", "1.0.0", "direct"]
    [package] = document["packages"]  # type: ignore[misc]
    assert package["locked_yanked"] is True and package["latest"] == "1.0.0"


def test_without_a_lock_it_says_to_run_lock(tmp_path: Path) -> None:
    project = write_project(tmp_path / "app", {"numkit": ""})

    run = fpmreg("outdated", "-C", project)

    assert run.exit_code == 2
    assert "there is no fpm.lock" in run.stderr and "run `fpmreg lock` first" in run.stderr
    assert run.stdout == ""


def test_without_fpm_toml_it_says_where_to_run(tmp_path: Path) -> None:
    run = fpmreg("outdated", "-C", tmp_path)

    assert run.exit_code == 2
    assert "no fpm.toml" in run.stderr


def test_when_only_the_lock_still_resolves_it_warns_and_shows_none_fits(
    live_server: LiveServer, tmp_path: Path
) -> None:
    token = token_for(live_server)
    publish(live_server, token, "numkit", "1.0.0")
    publish(live_server, token, "numkit", "1.1.0")
    project = write_project(tmp_path / "app", {"numkit": "1.0.0"})
    lock(live_server, project)
    yank(live_server, token, "numkit", "1.0.0")  # the pinned version, kept only by the lock

    run = fpmreg("outdated", "-C", project, "--exit-code")

    assert run.exit_code == 1
    assert "fpm.toml cannot be resolved afresh" in run.stderr
    row = next(line for line in run.stdout.splitlines() if "pin/numkit" in line)
    assert row.split() == [
        "pin/numkit",
        "=1.0.0",
        "1.0.0",
        "(yanked)",
        "(none",
        "fits)",
        "1.1.0",
        "direct",
    ]
