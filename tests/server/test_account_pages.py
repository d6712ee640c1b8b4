"""Account pages over HTTP: sign-up, namespaces, members and tokens, with CSRF."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.factories import PASSWORD, make_user, unique
from tests.support.forms import csrf_field, sign_up
from tests.support.tarballs import package_tarball


def _sign_up(client: TestClient, username: str) -> None:
    response = sign_up(client, username)
    assert response.status_code == 200 and username in response.text  # followed to /account


def test_account_page_asks_anonymous_visitors_to_log_in(client: TestClient) -> None:
    response = client.get("/account", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/account"


def test_signup_reports_every_problem_at_once(client: TestClient) -> None:
    token = csrf_field(client, "/signup")
    response = client.post(
        "/signup",
        data={
            "csrf_token": token,
            "username": "9lives",
            "email": "nope",
            "password": "short",
            "password2": "short",
        },
    )
    assert response.status_code == 400
    for words in ("must start with a letter", "is not an email address", "10 to 1024"):
        assert words in response.text


def test_wrong_password_is_refused_without_saying_which_part_was_wrong(
    client: TestClient, session: Session
) -> None:
    user = make_user(session)
    session.commit()
    token = csrf_field(client, "/login")
    response = client.post(
        "/login",
        data={"csrf_token": token, "username": user.username, "password": "not the password"},
    )
    assert response.status_code == 401
    assert "wrong username or password" in response.text


def test_admin_adds_a_maintainer_who_can_then_publish(client: TestClient, session: Session) -> None:
    helper = make_user(session)
    session.commit()
    _sign_up(client, owner := unique("owner"))
    ns = unique("team")
    token = csrf_field(client, "/namespaces/new")
    created = client.post("/namespaces/new", data={"csrf_token": token, "name": ns})
    assert created.status_code == 200 and f"Namespace {ns}" in created.text
    assert "admin" in created.text and owner in created.text

    added = client.post(
        f"/namespace/{ns}/members",
        data={"csrf_token": token, "username": helper.username, "role": "maintainer"},
    )
    assert added.status_code == 200 and helper.username in added.text

    # The maintainer signs in and makes a publish token for the namespace.
    client.cookies.clear()
    token = csrf_field(client, "/login")
    client.post(
        "/login", data={"csrf_token": token, "username": helper.username, "password": PASSWORD}
    )
    token = csrf_field(client, "/account")  # signing in gave the browser a new token
    page = client.post(
        "/account/tokens",
        data={
            "csrf_token": token,
            "name": "ci",
            "namespace": ns,
            "scopes": "publish",
            "days": "30",
        },
    )
    secret = re.search(r'<pre id="new-token">([^<]+)</pre>', page.text)
    assert secret, page.text
    published = client.post(
        "/packages",
        data={"upload_token": secret.group(1)},
        files={"tarball": ("f", package_tarball("teamlib", "0.1.0"))},
    )
    assert published.json()["code"] == 200, published.text

    # A maintainer cannot manage members.
    refused = client.post(
        f"/namespace/{ns}/members",
        data={"csrf_token": token, "username": helper.username, "role": "admin"},
    )
    assert refused.status_code == 403 and "only admins" in refused.text


def test_revoked_token_stops_working_at_once(client: TestClient) -> None:
    _sign_up(client, unique("rev"))
    token = csrf_field(client, "/namespaces/new")
    client.post("/namespaces/new", data={"csrf_token": token, "name": (ns := unique("rv"))})
    page = client.post(
        "/account/tokens",
        data={"csrf_token": token, "name": "old", "namespace": ns, "scopes": "publish"},
    )
    secret = re.search(r'<pre id="new-token">([^<]+)</pre>', page.text)
    token_id = re.search(r"/account/tokens/(\d+)/revoke", page.text)
    assert secret and token_id
    assert "old" in client.get("/account").text
    assert secret.group(1) not in client.get("/account").text  # shown once only
    client.post(f"/account/tokens/{token_id.group(1)}/revoke", data={"csrf_token": token})
    refused = client.post(
        "/packages",
        data={"upload_token": secret.group(1)},
        files={"tarball": ("f", package_tarball("late", "0.1.0"))},
    )
    assert refused.json()["code"] == 401
    assert refused.json()["message"].startswith("the token `old` was revoked on ")


def test_forms_without_the_csrf_token_are_refused(client: TestClient) -> None:
    _sign_up(client, unique("csrf"))
    response = client.post("/namespaces/new", data={"name": unique("nope")})
    assert response.status_code == 403
    assert "reload the page" in response.text
