"""Browser sessions on the account page: listed with a coarse browser label, ended one
by one or all others at once, ended by a password change; sign-in limits."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from fpmreg.server.accounts.models import WebSession
from fpmreg.server.accounts.sessions import browser_label
from fpmreg.server.app import create_app
from fpmreg.server.db import Database
from fpmreg.server.ratelimit import LOGIN_FAILURES_PER_CLIENT_PER_MINUTE
from fpmreg.server.settings import Settings
from tests.factories import PASSWORD, make_user, unique
from tests.support.forms import csrf_field

FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
CHROME_MAC = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36"
)
NEW_PASSWORD = "quiet lantern over marsh"


class MovableClock:
    def __init__(self) -> None:
        self.current = datetime.now(UTC)

    def now(self) -> datetime:
        return self.current


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock()


@pytest.fixture
def timed_app(
    settings: Settings, engine: Engine, sessions: sessionmaker[Session], clock: MovableClock
) -> FastAPI:
    return create_app(settings, database=Database(engine, sessions), clock=clock)


def _browser(app: FastAPI, agent: str, address: str = "198.51.100.7") -> TestClient:
    return TestClient(app, headers={"User-Agent": agent}, client=(address, 40000))


def _sign_in(client: TestClient, username: str, password: str = PASSWORD) -> int:
    token = csrf_field(client, "/login")
    answer = client.post(
        "/login",
        data={"csrf_token": token, "username": username, "password": password},
        follow_redirects=False,
    )
    return answer.status_code


def _signed_in(client: TestClient) -> bool:
    return client.get("/account", follow_redirects=False).status_code == 200


def test_labels_are_coarse() -> None:
    assert browser_label(FIREFOX) == "Firefox on Linux"
    assert browser_label(CHROME_MAC) == "Chrome on macOS"
    assert browser_label("") == "a browser"


def test_sessions_are_listed_with_a_label_never_the_address(
    timed_app: FastAPI, session: Session
) -> None:
    user = make_user(session)
    session.commit()
    laptop, desktop = _browser(timed_app, FIREFOX), _browser(timed_app, CHROME_MAC)
    assert _sign_in(laptop, user.username) == 303 and _sign_in(desktop, user.username) == 303
    page = laptop.get("/account").text
    assert "Where you are signed in" in page
    assert "Firefox on Linux" in page and "Chrome on macOS" in page
    assert "this browser" in page
    assert "198.51.100.7" not in page


def test_end_one_session_and_all_others(timed_app: FastAPI, session: Session) -> None:
    user = make_user(session)
    session.commit()
    browsers = [_browser(timed_app, agent) for agent in (FIREFOX, CHROME_MAC, "curl/8.0")]
    for browser in browsers:
        assert _sign_in(browser, user.username) == 303
    me, chrome, curl = browsers
    page = me.get("/account").text
    chrome_row = re.search(r"Chrome on macOS.*?/account/sessions/(\d+)/end", page, re.S)
    assert chrome_row
    me.post(
        f"/account/sessions/{chrome_row.group(1)}/end",
        data={"csrf_token": csrf_field(me, "/account")},
    )
    assert not _signed_in(chrome) and _signed_in(curl) and _signed_in(me)

    ended = me.post("/account/sessions/end-others", data={"csrf_token": csrf_field(me, "/account")})
    assert ended.status_code == 200 and "1 other session(s) ended" in ended.text
    assert not _signed_in(curl) and _signed_in(me)


def test_a_session_of_another_user_cannot_be_ended(timed_app: FastAPI, session: Session) -> None:
    mine, theirs = make_user(session), make_user(session)
    session.commit()
    me, them = _browser(timed_app, FIREFOX), _browser(timed_app, CHROME_MAC)
    _sign_in(me, mine.username)
    _sign_in(them, theirs.username)
    their_id = session.scalar(select(WebSession.id).where(WebSession.user_id == theirs.id))
    refused = me.post(
        f"/account/sessions/{their_id}/end", data={"csrf_token": csrf_field(me, "/account")}
    )
    assert refused.status_code == 404 and "no such session among yours" in refused.text
    assert _signed_in(them)


def test_changing_the_password_ends_every_other_session(
    timed_app: FastAPI, session: Session
) -> None:
    user = make_user(session)
    session.commit()
    me, other = _browser(timed_app, FIREFOX), _browser(timed_app, CHROME_MAC)
    _sign_in(me, user.username)
    _sign_in(other, user.username)
    changed = me.post(
        "/account/password",
        data={
            "csrf_token": csrf_field(me, "/account"),
            "current_password": PASSWORD,
            "password": NEW_PASSWORD,
            "password2": NEW_PASSWORD,
        },
    )
    assert changed.status_code == 200 and "1 other session(s) ended" in changed.text
    assert _signed_in(me) and not _signed_in(other)
    assert _sign_in(_browser(timed_app, FIREFOX), user.username) == 401
    assert _sign_in(_browser(timed_app, FIREFOX), user.username, NEW_PASSWORD) == 303


def test_last_seen_is_written_at_most_once_a_minute(
    timed_app: FastAPI, session: Session, clock: MovableClock
) -> None:
    user = make_user(session)
    session.commit()
    me = _browser(timed_app, FIREFOX)
    _sign_in(me, user.username)
    started = clock.current

    def last_seen() -> datetime | None:
        session.expire_all()
        return session.scalar(select(WebSession.last_seen_at).where(WebSession.user_id == user.id))

    clock.current = started + timedelta(seconds=30)
    me.get("/account")
    assert last_seen() == started
    clock.current = started + timedelta(minutes=2)
    me.get("/account")
    assert last_seen() == started + timedelta(minutes=2)


def test_sign_in_failures_from_one_source_are_limited_on_the_form(
    app: FastAPI, session: Session
) -> None:
    user = make_user(session)
    session.commit()
    sprayer = _browser(app, FIREFOX, "203.0.113.9")
    token = csrf_field(sprayer, "/login")
    answers = [
        sprayer.post(
            "/login",
            data={"csrf_token": token, "username": unique("victim"), "password": "guess guess"},
        ).status_code
        for _ in range(LOGIN_FAILURES_PER_CLIENT_PER_MINUTE)
    ]
    assert set(answers) == {401}
    refused = sprayer.post(
        "/login", data={"csrf_token": token, "username": user.username, "password": PASSWORD}
    )
    assert refused.status_code == 429
    assert "too many sign-in attempts: wait" in refused.text and "Log in" in refused.text
    assert int(refused.headers["Retry-After"]) >= 1
    # Another source is not affected.
    assert _sign_in(_browser(app, FIREFOX, "203.0.113.10"), user.username) == 303
