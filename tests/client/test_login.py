"""`fpmreg login` and `logout`: the token file, and where publish finds its token."""

from __future__ import annotations

import os
import stat
import subprocess
import tomllib
from pathlib import Path

import pytest

from tests.client.conftest import FPMREG, MakeRepo, fpmreg, good_files
from tests.support.live import LiveServer


def config_file(home: Path) -> Path:
    return home / ".config" / "fpmreg" / "config.toml"


def test_login_saves_a_private_config_and_publish_uses_it(
    live_server: LiveServer, make_repo: MakeRepo, isolated: Path
) -> None:
    token = live_server.publisher_token("demo")
    repo = make_repo(good_files("hello"))

    login = fpmreg("login", "--registry", live_server.url, input=token + "\n")

    assert login.exit_code == 0, login.output
    assert token not in login.output  # the hidden prompt does not echo it either
    saved = config_file(isolated)
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600
    content = tomllib.loads(saved.read_text())
    assert content["registry"] == live_server.url
    assert content["registries"][live_server.url]["token"] == token

    # No --token, no --registry: both come from the config file.
    run = fpmreg("publish", repo)

    assert run.exit_code == 0, run.output
    assert "published `demo/hello` 0.1.0" in run.stdout

    logout = fpmreg("logout")

    assert logout.exit_code == 0
    assert not saved.exists()
    after = fpmreg("publish", repo)
    assert after.exit_code == 2
    assert "no token for" in after.stderr


def test_the_installed_command_reads_the_token_from_stdin(
    live_server: LiveServer, make_repo: MakeRepo, isolated: Path, tmp_path: Path
) -> None:
    token = live_server.publisher_token("demo")
    repo = make_repo(good_files("hello"))
    xdg = tmp_path / "xdg"

    login = subprocess.run(
        [FPMREG, "login", "--registry", live_server.url + "/", "--token-stdin"],
        input=token + "\n",
        capture_output=True,
        text=True,
        env={**os.environ, "XDG_CONFIG_HOME": str(xdg)},
    )
    publish = subprocess.run(
        [FPMREG, "publish", "--dry-run"],
        cwd=repo,
        capture_output=True,
        text=True,
        env={**os.environ, "XDG_CONFIG_HOME": str(xdg)},
    )

    assert login.returncode == 0, login.stderr
    saved = xdg / "fpmreg" / "config.toml"
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600
    assert not config_file(isolated).exists()
    assert publish.returncode == 0, publish.stderr
    assert "dry run: `demo/hello` 0.1.0" in publish.stdout
    assert token not in login.stdout + login.stderr + publish.stdout + publish.stderr


def test_the_option_and_environment_come_before_the_config(
    live_server: LiveServer, make_repo: MakeRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    good = live_server.publisher_token("demo")
    stale = "fpmreg_" + "s" * 43
    repo = make_repo(good_files("hello"))
    assert (
        fpmreg("login", "--registry", live_server.url, "--no-verify", input=stale + "\n").exit_code
        == 0
    )

    from_config = fpmreg("publish", repo, "--dry-run")
    monkeypatch.setenv("FPMREG_TOKEN", good)
    from_env = fpmreg("publish", repo, "--dry-run")
    from_option = fpmreg("publish", repo, "--dry-run", "--token", stale)

    assert "error[token-invalid]" in from_config.stderr
    assert from_env.exit_code == 0, from_env.output
    assert "error[token-invalid]" in from_option.stderr


def test_the_registry_comes_from_the_environment_before_the_config(
    live_server: LiveServer, make_repo: MakeRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = live_server.publisher_token("demo")
    repo = make_repo(good_files("hello"))
    # The config names another registry, one nothing answers at (port 9, discard).
    elsewhere = "http://127.0.0.1:9"
    assert (
        fpmreg("login", "--registry", elsewhere, "--no-verify", input=token + "\n").exit_code == 0
    )
    monkeypatch.setenv("FPMREG_TOKEN", token)
    monkeypatch.setenv("FPMREG_REGISTRY", live_server.url)

    from_env = fpmreg("publish", repo, "--dry-run")
    monkeypatch.delenv("FPMREG_REGISTRY")
    from_config = fpmreg("publish", repo, "--dry-run")

    assert from_env.exit_code == 0, from_env.output
    assert "dry run: `demo/hello` 0.1.0 passes the registry's checks" in from_env.stdout
    # Without the variable the config's registry is used, not the built-in default.
    assert from_config.exit_code == 1
    assert f"cannot reach the registry at `{elsewhere}`" in from_config.stderr


def test_login_refuses_what_is_not_a_token(isolated: Path) -> None:
    run = fpmreg("login", "--token-stdin", input="my password 123\n")

    assert run.exit_code == 2
    assert "does not look like an fpmreg token" in run.stderr
    assert "password" not in run.output
    assert not config_file(isolated).exists()


def test_logout_keeps_the_other_registries(isolated: Path) -> None:
    first, second = "https://one.example.org", "https://two.example.org"
    for url, letter in ((first, "a"), (second, "b")):
        token = "fpmreg_" + letter * 43
        assert (
            fpmreg(
                "login", "--registry", url, "--token-stdin", "--no-verify", input=token
            ).exit_code
            == 0
        )

    run = fpmreg("logout", "--registry", first)

    assert run.exit_code == 0
    content = tomllib.loads(config_file(isolated).read_text())
    assert list(content["registries"]) == [second]
    assert content["registry"] == second  # the last login chose the default

    assert fpmreg("logout").exit_code == 0  # the default registry's token, the last one
    assert not config_file(isolated).exists()
