"""`fpmreg expectations` against a real registry process: read, declare, change one
field, refused values and tokens (docs/expectations.md)."""

from __future__ import annotations

import json

import httpx

from fpmreg.server.accounts.models import Scope
from tests.client.conftest import fpmreg
from tests.client.pinning import NAMESPACE, publish, token_for
from tests.support.live import LiveServer


def declared(server: LiveServer) -> dict[str, str] | None:
    url = f"{server.url}/api/v1/packages/{NAMESPACE}/numkit/expectations"
    found: dict[str, str] | None = httpx.get(url, timeout=10).json().get("expectations")
    return found


def test_declare_then_read_then_change_one_field(live_server: LiveServer) -> None:
    publish(live_server, token_for(live_server), "numkit", "2.1.0")
    manage = live_server.publisher_token(NAMESPACE, scopes={Scope.MANAGE})
    where = ("--registry", live_server.url)

    empty = fpmreg("expectations", "pin/numkit", *where)
    assert empty.exit_code == 0, empty.output
    assert "declared no expectations" in empty.stdout

    first = fpmreg(
        "expectations",
        "pin/numkit",
        "--status",
        "hobby",
        "--response",
        "best-effort",
        "--contact",
        "security@example.org",
        "--supported",
        ">=2.0",
        *where,
        "--token",
        manage,
    )
    assert first.exit_code == 0, first.output
    assert "A hobby project (hobby)" in first.stdout
    assert "security@example.org" in first.stdout and ">=2.0" in first.stdout
    assert (declared(live_server) or {})["status"] == "hobby"

    changed = fpmreg(
        "expectations", "pin/numkit", "--status", "unmaintained", *where, "--token", manage
    )
    assert changed.exit_code == 0, changed.output
    now = declared(live_server) or {}
    assert now["status"] == "unmaintained" and now["contact"] == "security@example.org"

    as_json = fpmreg("expectations", "pin/numkit", *where, "--format", "json")
    assert as_json.exit_code == 0, as_json.output
    document = json.loads(as_json.stdout)
    assert document["expectations"]["status"] == "unmaintained"
    assert document["expectations"]["supported"] == ">=2.0"

    info = fpmreg("info", "pin/numkit", *where)
    assert info.exit_code == 0, info.output
    assert "Unmaintained" in info.stdout


def test_bad_values_and_tokens_are_refused_with_what_to_fix(live_server: LiveServer) -> None:
    publish(live_server, token_for(live_server), "numkit", "1.0.0")
    manage = live_server.publisher_token(NAMESPACE, scopes={Scope.MANAGE})
    where = ("--registry", live_server.url)

    first = fpmreg("expectations", "pin/numkit", "--contact", "a@b.org", *where, "--token", manage)
    assert first.exit_code == 2
    assert "--status" in first.stderr and "--response" in first.stderr

    bad = fpmreg(
        "expectations",
        "pin/numkit",
        "--status",
        "active",
        "--response",
        "yes",
        "--contact",
        "http://example.org/security",
        *where,
        "--token",
        manage,
    )
    assert bad.exit_code == 1
    assert "https://" in bad.stderr
    assert declared(live_server) is None

    as_json = fpmreg(
        "expectations",
        "pin/numkit",
        "--status",
        "retired",
        "--response",
        "yes",
        "--contact",
        "a@b.org",
        *where,
        "--token",
        manage,
        "--format",
        "json",
    )
    assert as_json.exit_code == 1
    assert json.loads(as_json.stdout)["ok"] is False

    yank_only = live_server.publisher_token(NAMESPACE, scopes={Scope.YANK})
    refused = fpmreg(
        "expectations", "pin/numkit", "--status", "active", "--response", "no",
        *where, "--token", yank_only,
    )  # fmt: skip
    assert refused.exit_code == 1
    assert "`manage` scope" in refused.stderr
    assert declared(live_server) is None
