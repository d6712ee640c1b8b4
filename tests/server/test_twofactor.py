"""Two-factor sign-in over HTTP: enrolment, the code at sign-in, recovery codes, the
namespace rule; with a clock the test moves, so time steps are exact."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pyotp
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from fpmreg.server.accounts.models import RecoveryCode, Role, Scope, User
from fpmreg.server.accounts.service import AccountsService
from fpmreg.server.accounts.twofactor import (
    TOTP_PERIOD_SECONDS,
    TwoFactorService,
    qr_svg,
)
from fpmreg.server.accounts.twofactor_signin import PENDING_COOKIE, PENDING_SECONDS
from fpmreg.server.app import create_app
from fpmreg.server.db import Database
from fpmreg.server.errors import Forbidden
from fpmreg.server.events import Event
from fpmreg.server.settings import Settings
from tests.factories import PASSWORD, make_publisher, make_user
from tests.support.forms import csrf_field
from tests.support.tarballs import fpm_publish_form, package_tarball

_SECRET = re.compile(r'<code id="totp-secret">([A-Z2-7 ]+)</code>')
_CODE = re.compile(r"<li><code>([a-z2-7]{5}-[a-z2-7]{5})</code></li>")


class MovableClock:
    """A clock the test moves; it starts at the beginning of a TOTP time step."""

    def __init__(self) -> None:
        now = int(datetime.now(UTC).timestamp())
        self.at = datetime.fromtimestamp(now - now % TOTP_PERIOD_SECONDS + 1, UTC)

    def now(self) -> datetime:
        return self.at

    def advance(self, **delta: float) -> None:
        self.at += timedelta(**delta)


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock()


@pytest.fixture
def web(
    settings: Settings, engine: Engine, sessions: sessionmaker[Session], clock: MovableClock
) -> Iterator[TestClient]:
    """The real app, reading time from `clock`."""
    app = create_app(settings, database=Database(engine, sessions), clock=clock)
    with TestClient(app) as client:
        yield client


def code_now(secret: str, clock: MovableClock) -> str:
    return pyotp.TOTP(secret).at(clock.now())


def enrolled_user(session: Session, clock: MovableClock) -> tuple[User, str, list[str]]:
    """A user with two-factor sign-in on: the user, the TOTP secret, the recovery codes.
    The enrolment used the current step, so the clock moves on to the next one."""
    user = make_user(session)
    twofactor = TwoFactorService(session, clock)
    secret = twofactor.begin_enrolment(user)
    codes = twofactor.confirm_enrolment(user, code_now(secret, clock))
    session.commit()
    clock.advance(seconds=TOTP_PERIOD_SECONDS)
    return user, secret, codes


def post_password(client: TestClient, username: str) -> httpx.Response:
    token = csrf_field(client, "/login")
    return client.post(
        "/login",
        data={"csrf_token": token, "username": username, "password": PASSWORD},
        follow_redirects=False,
    )


def post_code(client: TestClient, code: str) -> httpx.Response:
    token = csrf_field(client, "/login/2fa")
    return client.post(
        "/login/2fa", data={"csrf_token": token, "code": code, "next": "/account"},
        follow_redirects=False,
    )  # fmt: skip


def signed_in_as(client: TestClient, username: str) -> bool:
    page = client.get("/account", follow_redirects=False)
    return page.status_code == 200 and f"<h1>{username}</h1>" in page.text


def sign_out(client: TestClient) -> None:
    client.post("/logout", data={"csrf_token": csrf_field(client, "/account")})
    client.cookies.clear()


def test_enrolment_shows_a_qr_code_and_the_secret_then_ten_recovery_codes(
    web: TestClient, session: Session, clock: MovableClock
) -> None:
    user = make_user(session)
    session.commit()
    post_password(web, user.username)
    account = web.get("/account")
    assert "Two-factor sign-in is <strong>off</strong>" in account.text
    assert 'href="/account/2fa/setup"' in account.text

    setup = web.get("/account/2fa/setup")
    assert setup.status_code == 200
    assert "<svg" in setup.text
    # No inline script (the CSP forbids it): only the site's own static files.
    assert re.findall(r"<script(?![^>]*\bsrc=\"/static/)", setup.text) == []
    assert setup.headers["cache-control"] == "no-store"
    match = _SECRET.search(setup.text)
    assert match, "the secret is shown for manual entry"
    secret = match.group(1).replace(" ", "")
    assert web.get("/account/2fa/setup").text.count(match.group(1)) == 1  # same secret on reload
    session.refresh(user)
    uri = TwoFactorService(session, clock).provisioning_uri(user)
    assert uri.startswith("otpauth://totp/fpmreg:") and "issuer=fpmreg" in uri
    assert user.username in uri and f"secret={secret}" in uri
    assert qr_svg(uri) in setup.text  # the QR code drawn holds exactly this URI

    token = csrf_field(web, "/account/2fa/setup")
    wrong = web.post("/account/2fa/setup", data={"csrf_token": token, "code": "000000"})
    assert wrong.status_code == 401 and "the code is not right" in wrong.text
    done = web.post(
        "/account/2fa/setup", data={"csrf_token": token, "code": code_now(secret, clock)}
    )
    assert done.status_code == 200, done.text
    codes = _CODE.findall(done.text)
    assert len(codes) == 10 == len(set(codes))
    stored = session.scalars(select(RecoveryCode.code_hash).where(RecoveryCode.user_id == user.id))
    hashes = set(stored)
    assert len(hashes) == 10 and not hashes & ({c.replace("-", "") for c in codes} | set(codes))
    assert "Two-factor sign-in is <strong>on</strong>" in web.get("/account").text
    actions = session.scalars(select(Event.action).where(Event.actor_id == user.id))
    assert "user.2fa-enable" in list(actions)


def test_setup_form_without_csrf_token_is_refused(web: TestClient, session: Session) -> None:
    user = make_user(session)
    session.commit()
    post_password(web, user.username)
    web.get("/account/2fa/setup")
    refused = web.post("/account/2fa/setup", data={"code": "123456"})
    assert refused.status_code == 403 and "the form expired" in refused.text


def test_sign_in_asks_for_the_code_before_any_session_exists(
    web: TestClient, session: Session, clock: MovableClock
) -> None:
    user, secret, _ = enrolled_user(session, clock)
    answer = post_password(web, user.username)
    assert answer.status_code == 303 and answer.headers["location"].startswith("/login/2fa")
    assert "fpmreg_session" not in answer.headers.get("set-cookie", "")
    assert not signed_in_as(web, user.username)  # the pending cookie is no session
    page = web.get("/login/2fa")
    assert page.status_code == 200 and "authenticator app" in page.text

    done = post_code(web, code_now(secret, clock))
    assert done.status_code == 303 and done.headers["location"] == "/account"
    assert signed_in_as(web, user.username)


def test_wrong_code_is_refused_inline(
    web: TestClient, session: Session, clock: MovableClock
) -> None:
    user, secret, _ = enrolled_user(session, clock)
    post_password(web, user.username)
    right = code_now(secret, clock)
    wrong = post_code(web, f"{(int(right) + 1) % 1_000_000:06d}")
    assert wrong.status_code == 401
    assert "the code is not right" in wrong.text and 'action="/login/2fa"' in wrong.text
    assert not signed_in_as(web, user.username)


def test_code_replayed_within_its_time_step_is_refused(
    web: TestClient, session: Session, clock: MovableClock
) -> None:
    user, secret, _ = enrolled_user(session, clock)
    code = code_now(secret, clock)
    post_password(web, user.username)
    assert post_code(web, code).status_code == 303
    sign_out(web)

    clock.advance(seconds=10)  # still the same 30-second step
    post_password(web, user.username)
    replayed = post_code(web, code)
    assert replayed.status_code == 401
    assert "this code was already used: wait for the next code" in html.unescape(replayed.text)
    assert not signed_in_as(web, user.username)

    clock.advance(seconds=TOTP_PERIOD_SECONDS)  # the next step's code works
    assert post_code(web, code_now(secret, clock)).status_code == 303
    assert signed_in_as(web, user.username)


def test_expired_pending_sign_in_is_refused(
    web: TestClient, session: Session, clock: MovableClock
) -> None:
    user, secret, _ = enrolled_user(session, clock)
    post_password(web, user.username)
    token = csrf_field(web, "/login/2fa")
    clock.advance(seconds=PENDING_SECONDS + 1)
    late = web.post(
        "/login/2fa", data={"csrf_token": token, "code": code_now(secret, clock)},
        follow_redirects=False,
    )  # fmt: skip
    assert late.status_code == 401
    assert "waited more than 5 minutes" in late.text and 'action="/login"' in late.text
    assert not signed_in_as(web, user.username)


@pytest.mark.parametrize("change", ["user", "expiry", "signature"])
def test_tampered_pending_cookie_is_refused(
    web: TestClient, session: Session, clock: MovableClock, change: str
) -> None:
    other, _, _ = enrolled_user(session, clock)
    user, secret, _ = enrolled_user(session, clock)
    post_password(web, user.username)
    token = csrf_field(web, "/login/2fa")
    user_id, expiry, mac = web.cookies[PENDING_COOKIE].split(".")
    forged = {
        "user": f"{other.id}.{expiry}.{mac}",
        "expiry": f"{user_id}.{int(expiry) + 86400}.{mac}",
        "signature": f"{user_id}.{expiry}.{mac[:-2]}AA",
    }[change]
    web.cookies.set(PENDING_COOKIE, forged)
    refused = web.post(
        "/login/2fa", data={"csrf_token": token, "code": code_now(secret, clock)},
        follow_redirects=False,
    )  # fmt: skip
    assert refused.status_code == 401
    assert "this sign-in could not be continued" in refused.text
    assert not signed_in_as(web, user.username) and not signed_in_as(web, other.username)


def test_recovery_code_works_once(web: TestClient, session: Session, clock: MovableClock) -> None:
    user, _, codes = enrolled_user(session, clock)
    post_password(web, user.username)
    assert post_code(web, codes[0].upper()).status_code == 303  # as typed from paper
    assert signed_in_as(web, user.username)
    assert '<strong id="codes-left">9</strong>' in web.get("/account/2fa").text
    sign_out(web)

    post_password(web, user.username)
    again = post_code(web, codes[0])
    assert again.status_code == 401
    assert "this recovery code was already used" in again.text
    assert not signed_in_as(web, user.username)
    assert post_code(web, codes[1]).status_code == 303


def test_wrong_codes_are_rate_limited_per_user(
    web: TestClient, session: Session, clock: MovableClock
) -> None:
    user, _, _ = enrolled_user(session, clock)
    post_password(web, user.username)
    answers = [post_code(web, "bbbbb-bbbbb").status_code for _ in range(12)]
    assert answers[0] == 401 and answers[-1] == 429
    assert "too many second-factor attempts" in post_code(web, "bbbbb-bbbbb").text


def test_disabling_needs_the_password_and_a_code(
    web: TestClient, session: Session, clock: MovableClock
) -> None:
    user, secret, _ = enrolled_user(session, clock)
    post_password(web, user.username)
    post_code(web, code_now(secret, clock))
    clock.advance(seconds=TOTP_PERIOD_SECONDS)
    token = csrf_field(web, "/account/2fa")

    def disable(password: str, code: str) -> httpx.Response:
        data = {"csrf_token": token, "password": password, "code": code}
        return web.post("/account/2fa/disable", data=data, follow_redirects=False)

    no_password = disable("not the password", code_now(secret, clock))
    assert no_password.status_code == 401 and "the password is not right" in no_password.text
    no_code = disable(PASSWORD, "123456" if code_now(secret, clock) != "123456" else "654321")
    assert no_code.status_code == 401 and "the code is not right" in no_code.text
    assert "is <strong>on</strong>" in web.get("/account").text

    done = disable(PASSWORD, code_now(secret, clock))
    assert done.status_code == 303
    assert "is <strong>off</strong>" in web.get("/account").text
    assert session.scalars(select(RecoveryCode).where(RecoveryCode.user_id == user.id)).all() == []
    sign_out(web)
    assert post_password(web, user.username).headers["location"] == "/account"  # no code asked


def test_new_recovery_codes_replace_the_old_ones(
    web: TestClient, session: Session, clock: MovableClock
) -> None:
    user, secret, old = enrolled_user(session, clock)
    post_password(web, user.username)
    post_code(web, code_now(secret, clock))
    clock.advance(seconds=TOTP_PERIOD_SECONDS)
    token = csrf_field(web, "/account/2fa")
    page = web.post(
        "/account/2fa/recovery-codes", data={"csrf_token": token, "code": code_now(secret, clock)}
    )
    new = _CODE.findall(page.text)
    assert len(new) == 10 and not set(new) & set(old)
    sign_out(web)
    post_password(web, user.username)
    assert "the code is not right" in post_code(web, old[5]).text
    assert post_code(web, new[5]).status_code == 303


def _set_rule(client: TestClient, namespace: str, on: bool) -> httpx.Response:
    data = {"csrf_token": csrf_field(client, f"/namespace/{namespace}")}
    if on:
        data["require_2fa"] = "on"
    return client.post(f"/namespace/{namespace}/require-2fa", data=data, follow_redirects=False)


def test_required_2fa_blocks_new_tokens_of_members_without_it_but_not_old_tokens(
    web: TestClient, session: Session, clock: MovableClock
) -> None:
    publisher = make_publisher(session)  # an admin with a token, without 2FA
    session.commit()
    ns = publisher.namespace.name
    post_password(web, publisher.user.username)
    assert _set_rule(web, ns, on=True).status_code == 303
    assert "must use two-factor sign-in" in web.get(f"/namespace/{ns}").text

    token = csrf_field(web, "/account")
    made = web.post(
        "/account/tokens",
        data={"csrf_token": token, "name": "new", "namespace": ns, "scopes": "publish"},
    )
    assert made.status_code == 400
    assert f"namespace <code>{ns}</code> requires two-factor sign-in" in html.unescape(made.text)
    assert "/account/2fa/setup" in made.text and 'id="new-token"' not in made.text
    session.expire_all()  # the rule was set by the request, in its own session
    accounts = AccountsService(session, clock)
    with pytest.raises(Forbidden) as refused:
        accounts.create_token(publisher.user, name="api", scopes={Scope.PUBLISH}, namespace=ns)
    assert refused.value.problems[0].code == "2fa-required"

    # The token made before the rule still publishes (as on PyPI).
    data = package_tarball("hello", "1.0.0")
    published = web.post(
        "/packages", **fpm_publish_form("hello", "1.0.0", "MIT", publisher.token, data)
    )
    assert published.json()["code"] == 200, published.text

    # With two-factor sign-in, the member makes tokens again.
    twofactor = TwoFactorService(session, clock)
    secret = twofactor.begin_enrolment(publisher.user)
    twofactor.confirm_enrolment(publisher.user, code_now(secret, clock))
    secret_token, _ = accounts.create_token(
        publisher.user, name="api", scopes={Scope.PUBLISH}, namespace=ns
    )
    assert secret_token.startswith("fpmreg_")


def test_only_namespace_admins_change_the_rule(
    web: TestClient, session: Session, clock: MovableClock
) -> None:
    publisher = make_publisher(session)
    helper = make_user(session)
    AccountsService(session, clock).add_member(
        publisher.user, publisher.namespace, helper.username, Role.MAINTAINER
    )
    session.commit()
    post_password(web, helper.username)
    page = web.get(f"/namespace/{publisher.namespace.name}")
    assert 'action="/namespace/' + publisher.namespace.name + '/require-2fa"' not in page.text
    refused = _set_rule(web, publisher.namespace.name, on=True)
    assert refused.status_code == 403 and "only admins" in refused.text
    session.refresh(publisher.namespace)
    assert publisher.namespace.require_2fa is False


def test_pending_cookie_is_host_prefixed_and_secure_in_production(
    production_client: TestClient, session: Session
) -> None:
    user = make_user(session)
    twofactor = TwoFactorService(session, MovableClock())
    secret = twofactor.begin_enrolment(user)
    clock = MovableClock()
    twofactor.confirm_enrolment(user, pyotp.TOTP(secret).at(clock.now()))
    session.commit()
    answer = post_password(production_client, user.username)
    cookie = answer.headers["set-cookie"]
    assert cookie.startswith("__Host-fpmreg_2fa_pending=")
    assert "Secure" in cookie and "Path=/" in cookie and "HttpOnly" in cookie
    assert "Domain" not in cookie
