"""Rate limits as an attacker probes them: keys that cannot be dodged, buckets per
client, only failures counted, one account under every spelling, and `Retry-After`."""

from __future__ import annotations

import secrets

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from fpmreg.server.app import create_app
from fpmreg.server.db import Database
from fpmreg.server.ratelimit import (
    LOGIN_FAILURES_PER_CLIENT_PER_MINUTE,
    PUBLISH_AUTH_FAILURES_PER_MINUTE,
    SIGNUPS_PER_CLIENT_PER_HOUR,
)
from fpmreg.server.settings import Settings
from tests.factories import PASSWORD, make_user, unique
from tests.support.forms import csrf_field, sign_up
from tests.support.live import free_port
from tests.support.tarballs import package_tarball


def _client(app: FastAPI, address: str) -> TestClient:
    return TestClient(app, client=(address, 40000), follow_redirects=False)


def _sign_up(client: TestClient, username: str) -> int:
    response = sign_up(client, username)
    return response.status_code


def _sign_in(client: TestClient, username: str, password: str) -> TestClient:
    token = csrf_field(client, "/login")
    return client.post(
        "/login", data={"csrf_token": token, "username": username, "password": password}
    )


def _retry_after(response: object) -> int:
    headers = response.headers  # type: ignore[attr-defined]
    assert "Retry-After" in headers, f"429 without Retry-After: {headers}"
    return int(headers["Retry-After"])


def test_made_up_tokens_are_limited_per_client_on_both_publish_routes(app: FastAPI) -> None:
    tarball = package_tarball("guessed", "1.0.0")
    with _client(app, "198.51.100.7") as client:
        for _ in range(PUBLISH_AUTH_FAILURES_PER_MINUTE):
            refused = client.post(
                "/api/v1/packages",
                headers={"Authorization": f"Bearer fpmreg_{secrets.token_urlsafe(24)}"},
                files={"tarball": ("t.tar.gz", tarball, "application/gzip")},
            )
            assert refused.status_code == 401, refused.text
        api = client.post(
            "/api/v1/packages",
            headers={"Authorization": f"Bearer fpmreg_{secrets.token_urlsafe(24)}"},
            files={"tarball": ("t.tar.gz", tarball, "application/gzip")},
        )
        fpm = client.post(
            "/packages",
            data={"upload_token": secrets.token_urlsafe(24), "package_name": "guessed"},
            files={"tarball": ("t.tar.gz", tarball, "application/gzip")},
        )
    assert api.status_code == 429, api.text
    assert api.json()["errors"][0]["code"] == "rate-limited"
    assert 1 <= _retry_after(api) <= 60
    assert fpm.status_code == 429 and fpm.json()["code"] == 429, fpm.text
    assert 1 <= _retry_after(fpm) <= 60
    assert f"wait {_retry_after(fpm)} second(s)" in fpm.json()["message"]
    with _client(app, "198.51.100.8") as other:  # another client is not affected
        response = other.post(
            "/api/v1/packages",
            headers={"Authorization": "Bearer fpmreg_not-a-real-token"},
            files={"tarball": ("t.tar.gz", tarball, "application/gzip")},
        )
    assert response.status_code == 401


def test_junk_sign_ups_from_one_client_do_not_block_anyone_else(app: FastAPI) -> None:
    with _client(app, "203.0.113.5") as spammer:
        for _ in range(SIGNUPS_PER_CLIENT_PER_HOUR):
            assert _sign_up(spammer, unique("junk")) == 303
        refused_token = csrf_field(spammer, "/signup")
        refused = spammer.post("/signup", data={"csrf_token": refused_token, "username": "x"})
    assert refused.status_code == 429
    assert "too many sign-ups: wait" in refused.text  # on the sign-up form itself
    assert "Create an account" in refused.text
    assert 60 < _retry_after(refused) <= 3600  # the hour's window, not a fixed minute
    with _client(app, "203.0.113.6") as newcomer:
        assert _sign_up(newcomer, unique("real")) == 303


def test_the_owner_signing_in_often_is_never_refused(app: FastAPI, session: Session) -> None:
    owner = make_user(session)
    session.commit()
    with _client(app, "192.0.2.10") as client:
        for _ in range(LOGIN_FAILURES_PER_CLIENT_PER_MINUTE + 5):
            response = _sign_in(client, owner.username, PASSWORD)
            assert response.status_code == 303, response.text


def test_one_account_has_one_failure_count_under_every_spelling(
    app: FastAPI, session: Session
) -> None:
    victim = make_user(session, unique("victim_one_"))
    session.commit()
    spellings = [victim.username, victim.username.replace("_", "-"), victim.username.upper()]
    limit = app.state.fpmreg.settings.login_attempts_per_minute
    for i in range(limit):  # each failure from another address: only the account counts
        with _client(app, f"192.0.2.{20 + i}") as client:
            failed = _sign_in(client, spellings[i % len(spellings)], "guess")
            assert failed.status_code == 401, failed.text
    with _client(app, "192.0.2.99") as client:
        refused = _sign_in(client, victim.username.replace("_", "-"), PASSWORD)
    assert refused.status_code == 429, refused.text
    assert 1 <= _retry_after(refused) <= 60
    assert f"wait {_retry_after(refused)} second(s)" in refused.text


def test_failed_sign_ins_from_one_client_are_limited_over_all_accounts(app: FastAPI) -> None:
    with _client(app, "192.0.2.200") as client:
        for _ in range(LOGIN_FAILURES_PER_CLIENT_PER_MINUTE):
            assert _sign_in(client, unique("sprayed"), "Winter2026!").status_code == 401
        refused = _sign_in(client, unique("sprayed"), "Winter2026!")
    assert refused.status_code == 429
    assert 1 <= _retry_after(refused) <= 60


def test_limits_hold_in_memory_while_redis_is_down(
    settings: Settings, engine: Engine, sessions: sessionmaker[Session]
) -> None:
    down = settings.model_copy(update={"redis_url": f"redis://127.0.0.1:{free_port()}/0"})
    app = create_app(down, database=Database(engine, sessions))
    tarball = package_tarball("guessed", "1.0.0")
    with _client(app, "198.51.100.9") as client:
        statuses = [
            client.post(
                "/api/v1/packages",
                headers={"Authorization": "Bearer fpmreg_made-up"},
                files={"tarball": ("t.tar.gz", tarball, "application/gzip")},
            ).status_code
            for _ in range(PUBLISH_AUTH_FAILURES_PER_MINUTE + 1)
        ]
    assert statuses == [401] * PUBLISH_AUTH_FAILURES_PER_MINUTE + [429]  # no 5xx, still limited
