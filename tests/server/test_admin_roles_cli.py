"""`fpmreg-server admin grant|revoke|roles`: operators give and take site roles."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from fpmreg.server.accounts.models import User
from fpmreg.server.cli import app
from fpmreg.server.db import Database
from fpmreg.server.events import Event
from fpmreg.server.moderation.permissions import Principal
from fpmreg.server.moderation.roles import principals_for
from tests.factories import make_user
from tests.support.databases import fresh_database


@pytest.fixture
def cli_env(tmp_path: Path) -> Iterator[dict[str, str]]:
    with fresh_database(tmp_path) as url:
        yield {"FPMREG_DATABASE_URL": url, "FPMREG_STORAGE_PATH": str(tmp_path / "blobs")}


@pytest.fixture
def username(cli_env: dict[str, str]) -> str:
    database = Database.from_url(cli_env["FPMREG_DATABASE_URL"])
    with database.session() as session:
        name = make_user(session).username
        session.commit()
    database.engine.dispose()
    return name


def run(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["admin", *args], env=env)
    return result.exit_code, result.stdout, result.stderr


def principals(env: dict[str, str], username: str) -> set[Principal]:
    database = Database.from_url(env["FPMREG_DATABASE_URL"])
    try:
        with database.session() as session:
            user = session.scalars(select(User).where(User.username == username)).one()
            return principals_for(session, user)
    finally:
        database.engine.dispose()


def role_events(env: dict[str, str], username: str) -> list[tuple[str, str]]:
    database = Database.from_url(env["FPMREG_DATABASE_URL"])
    try:
        with database.session() as session:
            rows = session.scalars(
                select(Event).where(
                    Event.subject == f"user:{username}", Event.action.like("role.%")
                )
            )
            return [(e.action, e.data["role"]) for e in rows]
    finally:
        database.engine.dispose()


def test_an_operator_grants_lists_and_revokes_roles(cli_env: dict[str, str], username: str) -> None:
    assert run(cli_env, "roles", username) == (0, f"`{username}` holds no site role\n", "")
    code, out, _ = run(cli_env, "grant", "moderator", username)
    assert (code, out) == (0, f"granted `moderator` to `{username}`\n")
    assert (
        run(cli_env, "grant", "moderator", username)[1] == f"`{username}` already is `moderator`\n"
    )
    assert run(cli_env, "grant", "admin", username)[0] == 0
    assert run(cli_env, "grant", "trusted-reporter", username)[0] == 0
    assert run(cli_env, "roles", username)[1] == "moderator\ntrusted-reporter\nadmin\n"
    assert {Principal.MODERATOR, Principal.SITE_ADMIN, Principal.TRUSTED_REPORTER} <= principals(
        cli_env, username
    )

    assert (
        run(cli_env, "revoke", "moderator", username)[1]
        == f"revoked `moderator` from `{username}`\n"
    )
    assert run(cli_env, "revoke", "admin", username)[0] == 0
    assert run(cli_env, "revoke", "admin", username)[1] == f"`{username}` is not `admin`\n"
    assert run(cli_env, "roles", username)[1] == "trusted-reporter\n"
    held = principals(cli_env, username)
    assert Principal.MODERATOR not in held and Principal.SITE_ADMIN not in held
    assert role_events(cli_env, username) == [
        ("role.grant", "moderator"),
        ("role.grant", "admin"),
        ("role.grant", "trusted-reporter"),
        ("role.revoke", "moderator"),
        ("role.revoke", "admin"),
    ]


def test_an_unknown_role_or_user_is_a_clear_error(cli_env: dict[str, str], username: str) -> None:
    code, out, err = run(cli_env, "grant", "overlord", username)
    assert code == 2 and out == ""
    assert "there is no role `overlord`" in err and "moderator, trusted-reporter" in err
    assert "Traceback" not in err
    for command in ("grant", "revoke"):
        code, _, err = run(cli_env, command, "moderator", "nobody-here")
        assert code == 2 and err == "error: there is no user `nobody-here`\n"
    code, _, err = run(cli_env, "roles", "nobody-here")
    assert code == 2 and "there is no user `nobody-here`" in err
