"""`fpmreg yank` against a real registry process, with the token rules of `publish`."""

from __future__ import annotations

import httpx
import pytest

from fpmreg.server.accounts.models import Scope
from tests.client.conftest import fpmreg
from tests.client.pinning import NAMESPACE, publish, token_for
from tests.support.live import LiveServer


def version_state(server: LiveServer, version: str) -> tuple[bool, str]:
    response = httpx.get(f"{server.url}/api/v1/packages/{NAMESPACE}/numkit", timeout=10)
    entry = next(v for v in response.json()["versions"] if v["version"] == version)
    return entry["yanked"], entry.get("yank_reason", "")


def test_yank_then_undo(live_server: LiveServer) -> None:
    token = token_for(live_server)
    publish(live_server, token, "numkit", "1.0.0")

    run = fpmreg(
        "yank",
        "pin/numkit@1.0",
        "--reason",
        "wrong results with -O3",
        "--registry",
        live_server.url,
        "--token",
        token,
    )

    assert run.exit_code == 0, run.output
    assert "yanked `pin/numkit` 1.0.0: wrong results with -O3" in run.stdout
    assert "fpmreg lock --update numkit" in run.stdout
    assert version_state(live_server, "1.0.0")[0] is True

    undo = fpmreg(
        "yank", "pin/numkit@1.0.0", "--undo", "--registry", live_server.url, "--token", token
    )

    assert undo.exit_code == 0, undo.output
    assert "unyanked `pin/numkit` 1.0.0" in undo.stdout
    assert version_state(live_server, "1.0.0") == (False, "")


def test_the_token_comes_from_the_environment(
    live_server: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = token_for(live_server)
    publish(live_server, token, "numkit", "1.0.0")
    monkeypatch.setenv("FPMREG_TOKEN", token)
    monkeypatch.setenv("FPMREG_REGISTRY", live_server.url)

    run = fpmreg("yank", "pin/numkit@1.0.0", "--reason", "broken")

    assert run.exit_code == 0, run.output
    assert version_state(live_server, "1.0.0")[0] is True


def test_a_token_without_the_yank_scope_is_refused(live_server: LiveServer) -> None:
    publish(live_server, token_for(live_server), "numkit", "1.0.0")
    publish_only = live_server.publisher_token(NAMESPACE, scopes={Scope.PUBLISH})

    run = fpmreg(
        "yank",
        "pin/numkit@1.0.0",
        "--reason",
        "broken",
        "--registry",
        live_server.url,
        "--token",
        publish_only,
    )

    assert run.exit_code == 1
    assert "`yank` scope" in run.stderr
    assert version_state(live_server, "1.0.0")[0] is False


def test_an_unknown_version_is_reported(live_server: LiveServer) -> None:
    token = token_for(live_server)
    publish(live_server, token, "numkit", "1.0.0")

    run = fpmreg(
        "yank",
        "pin/numkit@2.0.0",
        "--reason",
        "broken",
        "--registry",
        live_server.url,
        "--token",
        token,
    )

    assert run.exit_code == 1
    assert "2.0.0" in run.stderr


def test_a_reason_is_required() -> None:
    run = fpmreg("yank", "pin/numkit@1.0.0", "--token", "fpmreg_" + "a" * 30)

    assert run.exit_code == 2
    assert 'say why with `--reason "..."`' in run.stderr


def test_the_target_must_name_a_version() -> None:
    run = fpmreg("yank", "pin/numkit", "--reason", "broken")

    assert run.exit_code == 2
    assert "`pin/numkit` is not `NAMESPACE/NAME@VERSION`" in run.stderr


def test_without_a_token_the_command_says_how_to_get_one(live_server: LiveServer) -> None:
    run = fpmreg("yank", "pin/numkit@1.0.0", "--reason", "broken", "--registry", live_server.url)

    assert run.exit_code == 2
    assert f"no token for `{live_server.url}`" in run.stderr
