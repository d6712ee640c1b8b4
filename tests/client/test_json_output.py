"""`--format json` on publish, lock, sync, mirror, yank and unyank, against a real
registry process: one document on stdout (docs/cli.md, "Scripting"), read back with the
wire models scripts rely on, and the exit codes the docs promise."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from fpmreg.core.wire.cli import (
    CliError,
    LockReport,
    MirrorReport,
    PublishReport,
    SyncReport,
    YankReport,
)
from tests.client.conftest import MakeRepo, Run, fpmreg, good_files
from tests.client.pinning import NAMESPACE, publish, token_for, write_project
from tests.support.live import LiveServer


@pytest.fixture(autouse=True)
def private_cache(isolated: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The client's cache under the test's HOME, whatever the caller's XDG_CACHE_HOME."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(isolated / ".cache"))
    return isolated / ".cache" / "fpmreg"


def document(run: Run) -> dict[str, Any]:
    """stdout as one JSON document (nothing else may be there)."""
    parsed = json.loads(run.stdout)
    assert isinstance(parsed, dict)
    return parsed


def test_publish_prints_what_was_stored_and_a_refusal_as_an_error_document(
    live_server: LiveServer, make_repo: MakeRepo
) -> None:
    token = live_server.publisher_token("demo")
    repo = make_repo(good_files("hello"))
    args = ("publish", repo, "--registry", live_server.url, "--token", token, "--format", "json")

    dry = fpmreg(*args, "--dry-run")
    run = fpmreg(*args)
    again = fpmreg(*args)

    assert dry.exit_code == 0, dry.output
    assert PublishReport.model_validate(document(dry)).dry_run is True
    assert run.exit_code == 0, run.output
    report = PublishReport.model_validate(document(run))
    assert (report.ok, report.namespace, report.name, report.version) == (
        True,
        "demo",
        "hello",
        "0.1.0",
    )
    assert report.registry == live_server.url
    assert len(report.sha256) == 64
    assert "demo/hello" in report.url
    # Which registry: on stderr, so stdout stays one document.
    assert f"registry: {live_server.url}" in run.stderr
    assert again.exit_code == 1
    error = CliError.model_validate(document(again))
    assert error.ok is False
    assert error.exit_code == 1
    assert [p.code for p in error.problems] == ["version-exists"]


def test_a_command_that_cannot_run_prints_exit_code_2_in_its_error_document(
    live_server: LiveServer, make_repo: MakeRepo
) -> None:
    repo = make_repo(good_files("hello"))

    run = fpmreg("publish", repo, "--registry", live_server.url, "--format", "json")

    assert run.exit_code == 2
    error = CliError.model_validate(document(run))
    assert error.exit_code == 2
    assert f"no token for `{live_server.url}`" in error.error
    assert f"no token for `{live_server.url}`" in run.stderr


def test_lock_reports_the_packages_and_the_pin_that_holds_one_back(
    live_server: LiveServer, tmp_path: Path
) -> None:
    token = token_for(live_server)
    publish(live_server, token, "numkit", "1.0.0")
    publish(live_server, token, "numkit", "1.1.0")
    publish(live_server, token, "statkit", "1.0.0")
    project = write_project(tmp_path / "app", {"numkit": "1.0.0", "statkit": ""})
    base = ("-C", project, "--registry", live_server.url, "--format", "json")

    first = fpmreg("lock", *base)
    update = fpmreg("lock", "--update", *base)
    check = fpmreg("lock", "--check", *base)

    assert first.exit_code == 0, first.output
    report = LockReport.model_validate(document(first))
    assert report.written is True
    assert report.root == "app"
    assert [(p.package, p.version, p.change) for p in report.packages] == [
        (f"{NAMESPACE}/numkit", "1.0.0", "added"),
        (f"{NAMESPACE}/statkit", "1.0.0", "added"),
    ]
    assert update.exit_code == 0, update.output
    updated = LockReport.model_validate(document(update))
    assert updated.written is False
    assert [(h.package, h.pinned, h.newest) for h in updated.held_back] == [
        (f"{NAMESPACE}/numkit", "1.0.0", "1.1.0")
    ]
    assert (
        f'`{NAMESPACE}/numkit` 1.1.0 is available, but fpm.toml pins `v = "1.0.0"`, which '
        "holds it back"
    ) in update.stderr
    assert check.exit_code == 0, check.output
    assert LockReport.model_validate(document(check)).ok is True

    (project / "fpm.toml").write_text(
        (project / "fpm.toml")
        .read_text()
        .replace('numkit = { namespace = "pin", v = "1.0.0" }\n', "")
    )
    stale = fpmreg("lock", "--check", *base)

    assert stale.exit_code == 1
    out_of_date = LockReport.model_validate(document(stale))
    assert out_of_date.ok is False
    assert out_of_date.problems


def test_lock_update_in_text_says_the_pin_holds_the_newer_version_back(
    live_server: LiveServer, tmp_path: Path
) -> None:
    token = token_for(live_server)
    publish(live_server, token, "numkit", "1.0.0")
    publish(live_server, token, "numkit", "1.2.0")
    project = write_project(tmp_path / "app", {"numkit": "1.0.0"})

    run = fpmreg("lock", "--update", "numkit", "-C", project, "--registry", live_server.url)

    assert run.exit_code == 0, run.output
    assert "`pin/numkit` 1.2.0 is available" in run.stderr
    assert "change `v` (or drop it) to move" in run.stderr
    assert f"registry: {live_server.url}" in run.stderr


def test_sync_mirror_yank_and_unyank_print_their_documents(
    live_server: LiveServer, tmp_path: Path
) -> None:
    token = token_for(live_server)
    publish(live_server, token, "numkit", "1.0.0")
    publish(live_server, token, "statkit", "1.0.0", {"numkit": ""})
    project = write_project(tmp_path / "app", {"statkit": ""})
    assert fpmreg("lock", "-C", project, "--registry", live_server.url).exit_code == 0

    sync = fpmreg("sync", "-C", project, "--format", "json")
    mirror = fpmreg(
        "mirror", tmp_path / "mirror", "--namespace", NAMESPACE, "--registry", live_server.url,
        "--format", "json",
    )  # fmt: skip
    auth = ("--registry", live_server.url, "--token", token, "--format", "json")
    yank = fpmreg("yank", "pin/numkit@1.0.0", "--reason", "wrong results", *auth)
    unyank = fpmreg("unyank", "pin/numkit@1.0.0", *auth)

    assert sync.exit_code == 0, sync.output
    synced = SyncReport.model_validate(document(sync))
    assert synced.registries == [live_server.url]
    assert sorted(p.package for p in synced.installed) == ["pin/numkit", "pin/statkit"]
    assert (synced.packages, synced.kept) == (2, 0)
    assert synced.build_command.startswith("fpm build --config-file ")
    assert synced.build_command.endswith("build/fpmreg/config.toml")
    assert f"registry: {live_server.url}" in sync.stderr
    assert mirror.exit_code == 0, mirror.output
    mirrored = MirrorReport.model_validate(document(mirror))
    assert mirrored.ok is True
    assert sorted(f"{p.package}@{p.version}" for p in mirrored.added) == [
        "pin/numkit@1.0.0",
        "pin/statkit@1.0.0",
    ]
    assert yank.exit_code == 0, yank.output
    assert YankReport.model_validate(document(yank)).model_dump() == {
        "ok": True,
        "registry": live_server.url,
        "package": "pin/numkit",
        "version": "1.0.0",
        "yanked": True,
        "reason": "wrong results",
    }
    assert unyank.exit_code == 0, unyank.output
    assert YankReport.model_validate(document(unyank)).yanked is False

    missing = fpmreg("yank", "pin/numkit@9.0.0", "--reason", "broken", *auth)

    assert missing.exit_code == 1
    assert CliError.model_validate(document(missing)).problems


def test_sync_without_a_lock_prints_an_error_document(tmp_path: Path) -> None:
    run = fpmreg("sync", "-C", tmp_path, "--format", "json")

    assert run.exit_code == 2
    assert "run `fpmreg lock` first" in CliError.model_validate(document(run)).error
