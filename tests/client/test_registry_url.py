"""Which registry a command uses and says it used, and what it says when that registry
is unreachable or is not a registry at all (docs/cli.md, "Which registry", "Registry
URL", "Network")."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from fpmreg.core.lockfile import Lock, LockedPackage, LockRoot, dumps
from tests.client.conftest import MakeRepo, fpmreg, good_files
from tests.client.flaky import DROPPED, UNAVAILABLE, flaky_registry
from tests.client.pinning import publish, token_for, write_project
from tests.support.live import LiveServer

DEAD = "http://127.0.0.1:9"  # the discard port: nothing listens, connections are refused
ELSEWHERE = "http://127.0.0.1:10"


@pytest.fixture(autouse=True)
def private_cache(isolated: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(isolated / ".cache"))
    return isolated / ".cache" / "fpmreg"


class _Page(BaseHTTPRequestHandler):
    """Some other web server: the same HTML page (or a bare 404) for every path."""

    status = 200

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        body = b"<!doctype html><title>Welcome</title><p>Hello</p>"
        self.send_response(self.status)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class _NotFound(_Page):
    status = 404


@contextmanager
def web_server(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def locked_project(root: Path, registry: str, names: list[str]) -> Path:
    """A project whose fpm.lock names `names` from `registry` (sha256s made up)."""
    project = write_project(root, dict.fromkeys(names, ""))
    packages = tuple(
        LockedPackage("pin", name, "1.0.0", f"{i:064x}", registry, ())
        for i, name in enumerate(names)
    )
    (project / "fpm.lock").write_text(dumps(Lock(packages, LockRoot("app", ""))))
    return project


def test_login_records_the_default_registry_and_the_environment_overrides_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = write_project(tmp_path / "app", {"numkit": ""})
    login = fpmreg(
        "login", "--registry", DEAD, "--token-stdin", "--no-verify", input="fpmreg_" + "a" * 30
    )
    assert login.exit_code == 0, login.output

    from_config = fpmreg("lock", "-C", project)
    monkeypatch.setenv("FPMREG_REGISTRY", ELSEWHERE)
    from_env = fpmreg("lock", "-C", project)
    from_flag = fpmreg("lock", "-C", project, "--registry", DEAD)

    assert f"registry: {DEAD}" in from_config.stderr
    assert f"registry: {ELSEWHERE}" in from_env.stderr
    assert f"registry: {DEAD}" in from_flag.stderr
    # Unreachable: said once, with the registry's address.
    assert from_flag.exit_code == 1
    assert from_flag.stderr.count("cannot reach the registry at") == 1


def test_without_any_setting_the_registry_is_the_local_default(tmp_path: Path) -> None:
    project = write_project(tmp_path / "app", {"numkit": ""})

    run = fpmreg("lock", "-C", project, "--format", "json")

    assert run.stderr.startswith("registry: http://127.0.0.1:8000\n")


def test_an_unreachable_registry_is_one_line_not_one_per_package(tmp_path: Path) -> None:
    project = locked_project(tmp_path / "app", DEAD, ["alpha", "beta", "gamma", "delta"])

    run = fpmreg("sync", "-C", project)

    assert run.exit_code == 1
    assert run.stderr.count("cannot reach the registry at `http://127.0.0.1:9`") == 1
    assert "4 of 4 packages could not be fetched and verified" in run.stderr
    assert "run the command again" in run.stderr
    assert not (project / "build" / "fpmreg" / "registry").exists()


@pytest.mark.parametrize("suffix", ["/api", "/api/v1", "/api/v1/"])
def test_a_registry_url_with_the_api_path_is_named_as_the_cause(
    live_server: LiveServer, tmp_path: Path, suffix: str
) -> None:
    project = write_project(tmp_path / "app", {"numkit": ""})

    run = fpmreg("lock", "-C", project, "--registry", live_server.url + suffix)

    assert run.exit_code == 2
    assert (
        f"does not look like an fpmreg registry (did you mean `{live_server.url}`?)" in run.stderr
    )
    assert "numkit" not in run.stderr
    assert not (project / "fpm.lock").exists()


def test_publish_to_an_api_url_names_the_url(live_server: LiveServer, make_repo: MakeRepo) -> None:
    repo = make_repo(good_files("hello"))
    token = live_server.publisher_token("demo")

    run = fpmreg(
        "publish", repo, "--registry", f"{live_server.url}/api/v1", "--token", token,
        "--format", "json",
    )  # fmt: skip

    assert run.exit_code == 2
    assert f"did you mean `{live_server.url}`?" in run.stdout
    assert f"did you mean `{live_server.url}`?" in run.stderr


@pytest.mark.parametrize("handler", [_Page, _NotFound], ids=["html", "404"])
def test_a_server_that_is_not_a_registry_is_named_as_the_cause(
    tmp_path: Path, handler: type[BaseHTTPRequestHandler]
) -> None:
    with web_server(handler) as url:
        project = write_project(tmp_path / "app", {"numkit": ""})
        lock = fpmreg("lock", "-C", project, "--registry", url)
        locked = locked_project(tmp_path / "locked", url, ["numkit"])
        sync = fpmreg("sync", "-C", locked)

    for run in (lock, sync):
        assert run.exit_code == 2, run.output
        assert f"`{url}` does not look like an fpmreg registry" in run.stderr


def test_lock_retries_an_index_request_that_gets_no_answer_or_a_503(
    live_server: LiveServer, tmp_path: Path
) -> None:
    publish(live_server, token_for(live_server), "numkit", "1.0.0")
    project = write_project(tmp_path / "app", {"numkit": ""})
    plan = {"index:numkit": [UNAVAILABLE, DROPPED]}

    with flaky_registry(live_server.url, plan) as flaky:
        run = fpmreg("lock", "-C", project, "--registry", flaky.url)

    assert run.exit_code == 0, run.output
    assert flaky.attempts["index:numkit"] == 3
    assert 'name = "numkit"' in (project / "fpm.lock").read_text()
    # The proxy passes no POST, so no log lookup: the lock is written without log indexes.
    assert "fpm.lock records no transparency-log index for 1 packages" in run.stderr
    assert "log-index" not in (project / "fpm.lock").read_text()
