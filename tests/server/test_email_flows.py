"""Email verification and password reset end to end: the pages, the `mail.send` job and
a real SMTP server on loopback; links are taken from the mails as a user would."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from fpmreg.server.accounts.emails import VERIFY_LINK_TTL
from fpmreg.server.accounts.models import User
from fpmreg.server.accounts.passwords import RESET_LINK_TTL, RESET_MAILS_PER_ACCOUNT_PER_HOUR
from fpmreg.server.app import build_job_handlers, create_app
from fpmreg.server.db import Database
from fpmreg.server.events import Event
from fpmreg.server.jobs import JobRunner
from fpmreg.server.settings import Environment, Settings
from tests.factories import PASSWORD, unique
from tests.support.databases import fresh_database
from tests.support.forms import csrf_field, sign_up
from tests.support.live import LiveServer
from tests.support.smtp import SmtpSink
from tests.support.tarballs import package_tarball

NEW_PASSWORD = "quiet lantern over marsh"


class MovableClock:
    def __init__(self) -> None:
        self.current = datetime.now(UTC)

    def now(self) -> datetime:
        return self.current

    def advance(self, delta: timedelta) -> None:
        self.current += delta


@dataclass
class Registry:
    """The app with mail going to `sink`, jobs run by `runner`, time from `clock`."""

    client: TestClient
    sink: SmtpSink
    runner: JobRunner
    clock: MovableClock
    app: object

    def new_browser(self) -> TestClient:
        return TestClient(self.app)  # type: ignore[arg-type]

    def mail_link(self, path: str) -> str:
        """Send the queued mail, and the path of the newest link to `path` in it."""
        self.runner.run_until_idle()
        for message in reversed(self.sink.wait_for(1)):
            body = str(message.get_payload(decode=True), "utf-8")
            found = re.search(rf"http://testserver({re.escape(path)}\?token=\S+)", body)
            if found:
                return found.group(1)
        raise AssertionError(f"no mail with a link to {path}: {self.sink.subjects()}")


@pytest.fixture
def registry(
    tmp_path: Path, database_url: str, engine: Engine, sessions: sessionmaker[Session]
) -> Iterator[Registry]:
    clock = MovableClock()
    with SmtpSink() as sink:
        settings = Settings(
            env=Environment.TEST,
            database_url=database_url,
            storage_path=tmp_path / "blobs",
            base_url="http://testserver",
            smtp_url=sink.url,
            mail_from="registry@example.org",
        )
        database = Database(engine, sessions)
        app = create_app(settings, database=database, clock=clock)
        runner = JobRunner(database, clock, build_job_handlers(settings), worker_id="test")
        with TestClient(app) as client:
            yield Registry(client, sink, runner, clock, app)


def _publish_token(client: TestClient) -> str:
    """Create a namespace and a publish token through the account pages."""
    token = csrf_field(client, "/namespaces/new")
    client.post("/namespaces/new", data={"csrf_token": token, "name": unique("mailns")})
    page = client.get("/account").text
    namespace = re.search(r'<a href="/namespace/([^"]+)">', page)
    assert namespace
    created = client.post(
        "/account/tokens",
        data={
            "csrf_token": token,
            "name": "ci",
            "namespace": namespace.group(1),
            "scopes": "publish",
            "days": "30",
        },
    )
    secret = re.search(r'<pre id="new-token">([^<]+)</pre>', created.text)
    assert secret, created.text
    return secret.group(1)


def _publish(client: TestClient, token: str, name: str) -> httpx.Response:
    return client.post(
        "/api/v1/packages",
        files={"tarball": ("t.tar.gz", package_tarball(name, "0.1.0"))},
        headers={"Authorization": f"Bearer {token}"},
    )


def _sign_in(client: TestClient, username: str, password: str) -> httpx.Response:
    token = csrf_field(client, "/login")
    return client.post(
        "/login", data={"csrf_token": token, "username": username, "password": password}
    )


def test_sign_up_verify_from_the_mail_then_publish(registry: Registry, session: Session) -> None:
    client = registry.client
    username = unique("mailer")
    assert sign_up(client, username).status_code == 200
    assert "not verified" in client.get("/account").text
    token = _publish_token(client)

    refused = _publish(client, token, "early")
    assert refused.status_code == 403
    [problem] = refused.json()["errors"]
    assert problem["code"] == "email-unverified" and "/account" in problem["detail"]

    assert registry.sink.messages == []  # the mail leaves through the job runner
    link = registry.mail_link("/email/verify")
    assert registry.sink.messages[0]["To"] == f"{username}@example.org"
    assert registry.sink.messages[0]["Subject"] == "Verify your email address"
    verified = client.get(link)
    assert verified.status_code == 200 and "Address verified" in verified.text
    assert '<span class="badge">verified</span>' in client.get("/account").text

    published = _publish(client, token, "late")
    assert published.status_code == 201, published.text
    user = session.scalar(select(User).where(User.username == username))
    assert user is not None and user.email_verified_at is not None


def test_a_verification_link_for_an_old_address_is_refused(registry: Registry) -> None:
    client = registry.client
    username = unique("mover")
    sign_up(client, username)
    old_link = registry.mail_link("/email/verify")

    changed = client.post(
        "/account/email",
        data={
            "csrf_token": csrf_field(client, "/account"),
            "email": f"{username}@elsewhere.example",
            "current_password": PASSWORD,
        },
    )
    assert changed.status_code == 200 and "follow the link we mailed there" in changed.text
    new_link = registry.mail_link("/email/verify")
    recipients = [m["To"] for m in registry.sink.messages]
    assert f"{username}@elsewhere.example" in recipients
    assert f"{username}@example.org" in recipients  # the old address is told of the change

    superseded = client.get(old_link)
    assert superseded.status_code == 400
    assert "no longer uses" in superseded.text and 'href="/account"' in superseded.text
    assert client.get(new_link).status_code == 200


def test_tampered_and_expired_verification_links_are_refused(registry: Registry) -> None:
    client = registry.client
    sign_up(client, unique("late"))
    link = registry.mail_link("/email/verify")
    tampered = link[:-3] + ("AAA" if not link.endswith("AAA") else "BBB")
    refused = client.get(tampered)
    assert refused.status_code == 400 and "not valid" in refused.text
    other_user = re.sub(r"token=(\d+)\.", lambda m: f"token={int(m.group(1)) + 1}.", link)
    assert client.get(other_user).status_code == 400

    registry.clock.advance(VERIFY_LINK_TTL + timedelta(minutes=1))
    expired = client.get(link)
    assert expired.status_code == 400 and "expired" in expired.text
    assert "not verified" in client.get("/account").text


def test_resending_the_verification_mail_is_limited(registry: Registry) -> None:
    client = registry.client
    sign_up(client, unique("resend"))
    token = csrf_field(client, "/account")
    answers = [client.post("/account/email/resend", data={"csrf_token": token}) for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert "We sent a new verification link" in answers[0].text
    assert "too many verification mails" in answers[3].text
    assert "Retry-After" in answers[3].headers
    registry.runner.run_until_idle()
    assert len(registry.sink.wait_for(4)) == 4  # the sign-up's mail and three resent


def test_forgot_password_reset_from_the_mail_ends_the_old_session(
    registry: Registry, session: Session
) -> None:
    client = registry.client
    username = unique("forgetful")
    sign_up(client, username)
    registry.runner.run_until_idle()  # the verification mail
    old_cookies = dict(client.cookies)
    assert username in client.get("/account").text

    other = registry.new_browser()
    asked = other.post(
        "/password/forgot",
        data={"csrf_token": csrf_field(other, "/password/forgot"), "login": username},
    )
    assert asked.status_code == 200 and "If an account with that username" in asked.text
    link = registry.mail_link("/password/reset")
    assert registry.sink.messages[-1]["Subject"] == "Reset your password"

    form = other.get(link)
    assert form.status_code == 200 and "Choose a new password" in form.text
    token = re.search(r'name="token" value="([^"]+)"', form.text)
    assert token
    done = other.post(
        "/password/reset",
        data={
            "csrf_token": csrf_field(other, link),
            "token": token.group(1),
            "password": NEW_PASSWORD,
            "password2": NEW_PASSWORD,
        },
    )
    assert done.status_code == 200 and "sign in with the new one" in done.text

    # The browser signed in before the reset is signed out.
    stale = registry.new_browser()
    stale.cookies.update(old_cookies)
    assert stale.get("/account", follow_redirects=False).status_code == 303
    assert _sign_in(other, username, PASSWORD).status_code == 401
    assert username in _sign_in(other, username, NEW_PASSWORD).text

    # The link worked once.
    again = other.get(link)
    assert again.status_code == 400 and "already used" in again.text
    assert 'href="/password/forgot"' in again.text
    actions = session.scalars(select(Event.action).where(Event.subject == f"user:{username}"))
    assert "user.password-reset" in list(actions)


def test_forgot_password_answers_the_same_for_unknown_accounts(registry: Registry) -> None:
    client = registry.client
    token = csrf_field(client, "/password/forgot")
    known = unique("known")
    other = registry.new_browser()
    sign_up(other, known)
    registry.runner.run_until_idle()
    sent = len(registry.sink.messages)
    answers = [
        client.post("/password/forgot", data={"csrf_token": token, "login": login})
        for login in (f"{known}@example.org", "nobody-at-all", "nobody@example.org")
    ]
    assert {a.status_code for a in answers} == {200}
    pages = {re.sub(r'value="[^"]*"', "", a.text) for a in answers}
    assert len(pages) == 1  # the same page but for the typed login
    registry.runner.run_until_idle()
    assert len(registry.sink.wait_for(sent + 1)) == sent + 1  # one mail: the known one


def test_one_account_gets_at_most_three_reset_mails_an_hour(registry: Registry) -> None:
    # Many requests for one account (from anywhere) must not flood its mailbox; the page
    # answers the same each time, so it says nothing about the limit either.
    client = registry.client
    token = csrf_field(client, "/password/forgot")
    target = unique("flooded")
    sign_up(registry.new_browser(), target)
    registry.runner.run_until_idle()
    before = len(registry.sink.wait_for(1))
    answers = [
        client.post("/password/forgot", data={"csrf_token": token, "login": target})
        for _ in range(RESET_MAILS_PER_ACCOUNT_PER_HOUR + 1)
    ]
    assert {a.status_code for a in answers} == {200}
    assert len({a.text for a in answers}) == 1
    registry.runner.run_until_idle()
    mails = registry.sink.wait_for(before + RESET_MAILS_PER_ACCOUNT_PER_HOUR + 1, timeout=2)
    assert len(mails) == before + RESET_MAILS_PER_ACCOUNT_PER_HOUR
    assert registry.sink.subjects().count("Reset your password") == 3
    registry.clock.advance(timedelta(hours=1, minutes=1))  # an hour later: one more
    client.post("/password/forgot", data={"csrf_token": token, "login": target})
    registry.runner.run_until_idle()
    assert len(registry.sink.wait_for(len(mails) + 1)) == len(mails) + 1


def test_tampered_and_expired_reset_links_are_refused(registry: Registry) -> None:
    client = registry.client
    username = unique("slow")
    sign_up(client, username)
    client.post(
        "/password/forgot",
        data={"csrf_token": csrf_field(client, "/password/forgot"), "login": username},
    )
    link = registry.mail_link("/password/reset")
    tampered = client.get(link.replace("token=", "token=9"))
    assert tampered.status_code == 400 and "not valid" in tampered.text
    registry.clock.advance(RESET_LINK_TTL + timedelta(seconds=1))
    expired = client.get(link)
    assert expired.status_code == 400 and "expired" in expired.text
    token = link.partition("token=")[2]
    refused = client.post(
        "/password/reset",
        data={
            "csrf_token": csrf_field(client, "/password/forgot"),
            "token": token,
            "password": NEW_PASSWORD,
            "password2": NEW_PASSWORD,
        },
    )
    assert refused.status_code == 400 and "expired" in refused.text
    assert _sign_in(registry.new_browser(), username, PASSWORD).status_code == 200


def test_a_weak_new_password_is_refused_on_the_reset_form(registry: Registry) -> None:
    client = registry.client
    username = unique("weak")
    sign_up(client, username)
    client.post(
        "/password/forgot",
        data={"csrf_token": csrf_field(client, "/password/forgot"), "login": username},
    )
    link = registry.mail_link("/password/reset")
    token = link.partition("token=")[2]
    refused = client.post(
        "/password/reset",
        data={
            "csrf_token": csrf_field(client, link),
            "token": token,
            "password": "password1234",
            "password2": "password1234",
        },
    )
    assert refused.status_code == 400
    assert "too easy to guess" in refused.text and f'value="{token}"' in refused.text
    assert client.get(link).status_code == 200  # the link still works


def test_a_live_server_mails_the_link_and_the_verified_account_publishes(
    tmp_path: Path,
) -> None:
    """The real `fpmreg-server run`, its embedded job runner and SMTP on loopback."""
    username = unique("liveuser")
    with (
        SmtpSink() as sink,
        fresh_database(tmp_path) as url,
        LiveServer(url, tmp_path, env={"FPMREG_SMTP_URL": sink.url}) as server,
        httpx.Client(base_url=server.url, follow_redirects=True, timeout=30) as browser,
    ):

        def form_token(path: str) -> str:
            found = re.search(r'name="csrf_token" value="([^"]+)"', browser.get(path).text)
            assert found
            return found.group(1)

        signed_up = browser.post(
            "/signup",
            data={
                "csrf_token": form_token("/signup"),
                "username": username,
                "email": f"{username}@example.org",
                "password": PASSWORD,
                "password2": PASSWORD,
            },
        )
        assert signed_up.status_code == 200 and "not verified" in signed_up.text
        namespace = unique("livens")
        token = form_token("/account")
        browser.post("/namespaces/new", data={"csrf_token": token, "name": namespace})
        created = browser.post(
            "/account/tokens",
            data={"csrf_token": token, "name": "ci", "namespace": namespace, "scopes": "publish"},
        )
        secret = re.search(r'<pre id="new-token">([^<]+)</pre>', created.text)
        assert secret

        def publish(name: str) -> httpx.Response:
            return browser.post(
                "/api/v1/packages",
                files={"tarball": ("t.tar.gz", package_tarball(name, "0.1.0"))},
                headers={"Authorization": f"Bearer {secret.group(1)}"},
            )

        assert publish("early").json()["errors"][0]["code"] == "email-unverified"
        [mail] = sink.wait_for(1)
        body = str(mail.get_payload(decode=True), "utf-8")
        link = re.search(rf"{re.escape(server.url)}(/email/verify\?token=\S+)", body)
        assert link, body
        assert "Address verified" in browser.get(link.group(1)).text
        assert publish("late").status_code == 201


def test_a_signed_in_browser_resetting_its_password_can_sign_in_again(
    registry: Registry,
) -> None:
    client = registry.client
    username = unique("selfreset")
    sign_up(client, username)
    client.post(
        "/password/forgot",
        data={"csrf_token": csrf_field(client, "/password/forgot"), "login": username},
    )
    link = registry.mail_link("/password/reset")
    landed = client.post(
        "/password/reset",
        data={
            "csrf_token": csrf_field(client, link),
            "token": link.partition("token=")[2],
            "password": NEW_PASSWORD,
            "password2": NEW_PASSWORD,
        },
    )
    assert landed.url.path == "/login" and "sign in with the new one" in landed.text
    assert f'value="{username}"' in landed.text
    assert client.get("/account", follow_redirects=False).status_code == 303  # signed out
    assert username in _sign_in(client, username, NEW_PASSWORD).text
