"""`fpmreg login` asks the registry who the token is; a revoked token is not saved."""

from __future__ import annotations

from pathlib import Path

from fpmreg.server.accounts.models import Scope
from tests.client.conftest import fpmreg
from tests.support.live import LiveServer


def test_login_prints_the_user_and_scopes_and_refuses_a_revoked_token(
    live_server: LiveServer, isolated: Path
) -> None:
    manager = live_server.publisher_token("demo", scopes={Scope.PUBLISH, Scope.MANAGE})
    url = live_server.url

    login = fpmreg("login", "--registry", url, "--token-stdin", input=manager + "\n")
    assert login.exit_code == 0, login.output
    assert "you are `publisher`" in login.stdout
    assert "manage, publish on `demo`" in login.stdout

    created = fpmreg(
        "token", "create", "ci", "--namespace", "demo", "--scope", "publish", "--days", "7"
    )
    assert created.exit_code == 0, created.output
    secret = created.stdout.strip()
    assert secret.startswith("fpmreg_")
    listed = fpmreg("token", "list")
    rows = [line.split() for line in listed.stdout.splitlines()]
    assert secret not in listed.output
    token_id = next(row[0] for row in rows if row[1] == "ci")
    assert "token `ci`" in fpmreg("whoami", "--token", secret).stdout

    revoked = fpmreg("token", "revoke", token_id)
    assert revoked.exit_code == 0, revoked.output
    config = isolated / ".config" / "fpmreg" / "config.toml"
    before = config.read_text()

    again = fpmreg("login", "--registry", url, "--token-stdin", input=secret + "\n")

    assert again.exit_code == 1
    assert "token-revoked" in again.stderr
    assert "was revoked on" in again.stderr
    assert config.read_text() == before  # nothing saved: the manage token is still there
    assert secret not in config.read_text()
