"""`fpmreg owner` against a real registry process: list, add and remove maintainers."""

from __future__ import annotations

import json

import httpx

from fpmreg.server.accounts.models import Scope
from tests.client.conftest import fpmreg
from tests.client.pinning import NAMESPACE, publish, token_for
from tests.support.live import LiveServer


def admin_token(server: LiveServer) -> str:
    """A token of `publisher`, admin of `pin`, that may publish and manage."""
    return server.publisher_token(NAMESPACE, scopes={Scope.PUBLISH, Scope.MANAGE})


def maintainers(server: LiveServer) -> list[str]:
    response = httpx.get(f"{server.url}/api/v1/packages/{NAMESPACE}/numkit/maintainers")
    return [m["username"] for m in response.json()["maintainers"]]


def make_user(server: LiveServer, username: str) -> str:
    """Create `username` (with a namespace of their own); returns their token there."""
    return server.publisher_token(f"{username}-ns", username=username, scopes={Scope.MANAGE})


def test_owner_lists_the_namespace_members(live_server: LiveServer) -> None:
    publish(live_server, token_for(live_server), "numkit", "1.0.0")

    run = fpmreg("owner", "pin/numkit", "--list", "--registry", live_server.url)
    default = fpmreg("owner", "pin/numkit", "--registry", live_server.url)

    assert run.exit_code == 0, run.output
    assert run.stdout.split() == ["publisher", "namespace", "admin"]
    assert default.stdout == run.stdout


def test_owner_add_then_remove_a_maintainer(live_server: LiveServer) -> None:
    token = admin_token(live_server)
    publish(live_server, token, "numkit", "1.0.0")
    make_user(live_server, "bob")

    added = fpmreg(
        "owner", "pin/numkit", "--add", "bob", "--registry", live_server.url, "--token", token
    )

    assert added.exit_code == 0, added.output
    assert "added `bob` as a maintainer of `pin/numkit`" in added.stdout
    assert "bob                     package maintainer" in added.stdout
    assert maintainers(live_server) == ["bob"]

    listed = fpmreg("owner", "pin/numkit", "--registry", live_server.url, "--format", "json")
    removed = fpmreg(
        "owner", "pin/numkit", "--remove", "bob", "--registry", live_server.url, "--token", token
    )

    assert json.loads(listed.stdout)["owners"] == [
        {"username": "publisher", "role": "namespace admin"},
        {"username": "bob", "role": "package maintainer"},
    ]
    assert removed.exit_code == 0, removed.output
    assert "removed `bob` from the maintainers of `pin/numkit`" in removed.stdout
    assert "bob" not in removed.stdout.split("now:")[1]
    assert maintainers(live_server) == []


def test_owner_json_after_add_names_the_action_and_the_user(live_server: LiveServer) -> None:
    token = admin_token(live_server)
    publish(live_server, token, "numkit", "1.0.0")
    make_user(live_server, "bob")

    run = fpmreg(
        "owner",
        "pin/numkit",
        "--add",
        "bob",
        "--registry",
        live_server.url,
        "--token",
        token,
        "--format",
        "json",
    )

    assert run.exit_code == 0, run.output
    assert json.loads(run.stdout) == {
        "registry": live_server.url,
        "namespace": "pin",
        "name": "numkit",
        "action": "add",
        "username": "bob",
        "owners": [
            {"username": "publisher", "role": "namespace admin"},
            {"username": "bob", "role": "package maintainer"},
        ],
    }


def test_owner_add_without_a_token_says_to_log_in(live_server: LiveServer) -> None:
    publish(live_server, token_for(live_server), "numkit", "1.0.0")

    run = fpmreg("owner", "pin/numkit", "--add", "bob", "--registry", live_server.url)

    assert run.exit_code == 2
    assert f"no token for `{live_server.url}`" in run.stderr
    assert "fpmreg login" in run.stderr


def test_a_token_without_manage_is_told_which_scope_it_needs(live_server: LiveServer) -> None:
    token = token_for(live_server)  # publish and yank only
    publish(live_server, token, "numkit", "1.0.0")
    make_user(live_server, "bob")

    run = fpmreg(
        "owner", "pin/numkit", "--add", "bob", "--registry", live_server.url, "--token", token
    )

    assert run.exit_code == 1
    assert "does not have the `manage` scope" in run.stderr
    assert "--scope manage" in run.stderr
    assert maintainers(live_server) == []


def test_a_token_for_another_namespace_is_refused(live_server: LiveServer) -> None:
    publish(live_server, token_for(live_server), "numkit", "1.0.0")
    bobs = make_user(live_server, "bob")
    make_user(live_server, "carol")

    run = fpmreg(
        "owner", "pin/numkit", "--add", "carol", "--registry", live_server.url, "--token", bobs
    )

    assert run.exit_code == 1
    assert "use one made for `pin`" in run.stderr
    assert maintainers(live_server) == []


def test_owner_of_an_unknown_package_names_the_registry(live_server: LiveServer) -> None:
    token = admin_token(live_server)

    listed = fpmreg("owner", "pin/nothing", "--registry", live_server.url)
    added = fpmreg(
        "owner", "pin/nothing", "--add", "bob", "--registry", live_server.url, "--token", token
    )

    for run in (listed, added):
        assert run.exit_code == 1
        assert f"no package `pin/nothing` on `{live_server.url}`" in run.stderr


def test_adding_an_unknown_user_says_so(live_server: LiveServer) -> None:
    token = admin_token(live_server)
    publish(live_server, token, "numkit", "1.0.0")

    run = fpmreg(
        "owner", "pin/numkit", "--add", "ghost", "--registry", live_server.url, "--token", token
    )

    assert run.exit_code == 1
    assert "there is no user `ghost`" in run.stderr


def test_removing_someone_who_is_not_a_maintainer_says_so(live_server: LiveServer) -> None:
    token = admin_token(live_server)
    publish(live_server, token, "numkit", "1.0.0")
    make_user(live_server, "bob")

    run = fpmreg(
        "owner", "pin/numkit", "--remove", "bob", "--registry", live_server.url, "--token", token
    )

    assert run.exit_code == 1
    assert "`bob` is not a maintainer of `pin/numkit`" in run.stderr


def test_add_and_remove_together_is_a_usage_error() -> None:
    run = fpmreg("owner", "pin/numkit", "--add", "bob", "--remove", "carol")
    listed = fpmreg("owner", "pin/numkit", "--list", "--add", "bob")

    assert run.exit_code == 2 and "not both" in run.stderr
    assert listed.exit_code == 2 and "do not go together" in listed.stderr
