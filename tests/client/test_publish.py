"""`fpmreg publish` against a real registry process: what is stored, what is refused."""

from __future__ import annotations

import hashlib

import httpx

from tests.client.conftest import MakeRepo, fpmreg, git, good_files
from tests.support.live import LiveServer


def stored_versions(server: LiveServer, namespace: str, name: str) -> httpx.Response:
    return httpx.get(f"{server.url}/api/v1/packages/{namespace}/{name}")


def test_publish_stores_the_tarball_with_the_same_sha256(
    live_server: LiveServer, make_repo: MakeRepo
) -> None:
    token = live_server.publisher_token("demo")
    repo = make_repo(good_files("hello"))
    archive = repo.parent / "head.tar.gz"
    git(repo, "archive", "HEAD", "--format=tar.gz", "-o", str(archive))
    local = hashlib.sha256(archive.read_bytes()).hexdigest()

    run = fpmreg("publish", repo, "--registry", live_server.url, "--token", token)

    assert run.exit_code == 0, run.output
    assert "published `demo/hello` 0.1.0" in run.stdout
    assert f"sha256  {local}" in run.stdout
    assert f"{live_server.url}/project/demo/hello" in run.stdout
    answer = stored_versions(live_server, "demo", "hello")
    assert answer.status_code == 200
    assert [(v["version"], v["sha256"]) for v in answer.json()["versions"]] == [("0.1.0", local)]

    again = fpmreg("publish", repo, "--registry", live_server.url, "--token", token)

    assert again.exit_code == 1
    assert "error[version-exists] version: package `demo/hello` already has a version `0.1.0`" in (
        again.stderr
    )
    assert "published" not in again.stdout


def test_the_registry_warnings_are_shown(live_server: LiveServer, make_repo: MakeRepo) -> None:
    token = live_server.publisher_token("demo")
    files = good_files("hello")
    del files["LICENSE"]
    repo = make_repo(files)

    run = fpmreg("publish", repo, "--registry", live_server.url, "--token", token)

    assert run.exit_code == 0, run.output
    assert "warning[license-file-missing] LICENSE: no LICENSE file" in run.stderr


def test_dry_run_checks_on_the_registry_and_stores_nothing(
    live_server: LiveServer, make_repo: MakeRepo
) -> None:
    token = live_server.publisher_token("demo")
    repo = make_repo(good_files("hello"))

    run = fpmreg("publish", repo, "--registry", live_server.url, "--token", token, "--dry-run")

    assert run.exit_code == 0, run.output
    assert "dry run: `demo/hello` 0.1.0 passes the registry's checks" in run.stdout
    assert stored_versions(live_server, "demo", "hello").status_code == 404


def test_dry_run_shows_the_registry_only_refusals(
    live_server: LiveServer, make_repo: MakeRepo
) -> None:
    token = live_server.publisher_token("demo")
    dependent = good_files("app", extra_manifest='[dependencies]\nnope = { namespace = "demo" }\n')
    repo = make_repo(dependent)

    run = fpmreg("publish", repo, "--registry", live_server.url, "--token", token, "--dry-run")

    assert run.exit_code == 1
    assert "error[dependency-not-found] " in run.stderr


def test_a_package_failing_the_checks_is_never_sent(
    live_server: LiveServer, make_repo: MakeRepo
) -> None:
    token = live_server.publisher_token("demo")
    files: dict[str, str | bytes] = {**good_files("hello"), "src/hello.mod": b"GFORTRAN module"}
    repo = make_repo(files)

    run = fpmreg("publish", repo, "--registry", live_server.url, "--token", token)

    assert run.exit_code == 1
    assert "error[build-output] src/hello.mod: " in run.stderr
    assert "error: not uploaded: `hello` 0.1.0 has 1 error, 0 warnings" in run.stderr
    assert stored_versions(live_server, "demo", "hello").status_code == 404
    # Had it been sent, this registry would have answered 401 for the unknown token.
    unknown = "fpmreg_" + "u" * 43
    unsent = fpmreg("publish", repo, "--registry", live_server.url, "--token", unknown)
    assert unsent.exit_code == 1
    assert "error: not uploaded" in unsent.stderr
    assert "token-invalid" not in unsent.output


def test_a_wrong_token_gets_the_registry_401_and_is_never_printed(
    live_server: LiveServer, make_repo: MakeRepo
) -> None:
    live_server.publisher_token("demo")
    wrong = "fpmreg_" + "Wr0ngT0ken" * 4 + "xyz"
    repo = make_repo(good_files("hello"))

    run = fpmreg("publish", repo, "--registry", live_server.url, "--token", wrong)

    assert run.exit_code == 1
    assert "error[token-invalid] upload_token: the token is not valid" in run.stderr
    assert wrong not in run.output
    assert wrong[:16] not in run.output
    assert stored_versions(live_server, "demo", "hello").status_code == 404


def test_a_malformed_token_is_refused_without_being_echoed(make_repo: MakeRepo) -> None:
    repo = make_repo(good_files("hello"))
    pasted = "fpmreg_secretvalue1234567\nsecond-line"

    run = fpmreg("publish", repo, "--token", pasted)

    assert run.exit_code == 2
    assert "does not look like an fpmreg token" in run.stderr
    assert "secretvalue" not in run.output


def test_publish_without_any_token_says_how_to_get_one(make_repo: MakeRepo) -> None:
    repo = make_repo(good_files("hello"))

    run = fpmreg("publish", repo, "--registry", "https://registry.example.org")

    assert run.exit_code == 2
    assert "no token for `https://registry.example.org`" in run.stderr
    assert "fpmreg login" in run.stderr
