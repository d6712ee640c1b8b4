"""Security headers on every kind of answer, HSTS in production, no-store on private pages."""

from __future__ import annotations

import re

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.factories import PASSWORD, make_publisher, make_user, unique
from tests.support.tarballs import package_tarball


def assert_security_headers(response: httpx.Response) -> None:
    headers = response.headers
    where = f"{response.request.method} {response.request.url.path} ({response.status_code})"
    assert headers.get("x-content-type-options") == "nosniff", where
    assert headers.get("referrer-policy") == "strict-origin-when-cross-origin", where
    assert headers.get("x-frame-options") == "DENY", where
    csp = headers.get("content-security-policy", "")
    assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp, where
    assert "unsafe-inline" not in csp, where


@pytest.fixture
def published(client: TestClient, session: Session) -> str:
    """`namespace/name` of a published package."""
    publisher = make_publisher(session)
    session.commit()
    data = package_tarball("headers", "1.0.0")
    response = client.post(
        "/packages", data={"upload_token": publisher.token}, files={"tarball": ("f", data)}
    )
    assert response.json()["code"] == 200, response.text
    return f"{publisher.namespace.name}/headers"


def test_every_kind_of_answer_has_the_security_headers(client: TestClient, published: str) -> None:
    too_large = client.post(
        "/packages",
        content=b"x" * 1024,
        headers={"content-type": "multipart/form-data; boundary=x", "content-length": "99999999"},
    )
    answers = {
        "JSON": client.get(f"/api/v1/packages/{published}"),
        "JSON error": client.get("/api/v1/packages/nobody/nothing"),
        "redirect": client.get("/account", follow_redirects=False),
        "404 page": client.get("/no/such/page"),
        "413": too_large,
        "fpm metadata": client.get(f"/packages/{published}"),
        "fpm metadata again (cached)": client.get(f"/packages/{published}"),
        "tarball": client.get(f"/tarballs/{published}/1.0.0.tar.gz"),
        "page": client.get(f"/project/{published}"),
        "static file": client.get("/static/style.css"),
    }
    expected = {"redirect": 303, "404 page": 404, "JSON error": 404, "413": 413}
    for what, response in answers.items():
        assert response.status_code == expected.get(what, 200), (what, response.text[:200])
        assert_security_headers(response)
        assert "strict-transport-security" not in response.headers, what


def test_production_answers_ask_for_https_from_now_on(production_client: TestClient) -> None:
    for response in (
        production_client.get("/"),
        production_client.get("/api/v1/packages"),
        production_client.get("/no/such/page"),
        production_client.get("/account", follow_redirects=False),
    ):
        assert_security_headers(response)
        assert response.headers["strict-transport-security"] == "max-age=31536000"


def test_pages_with_a_new_token_or_a_session_are_not_stored(
    client: TestClient, session: Session
) -> None:
    user = make_user(session)
    session.commit()
    anonymous = client.get("/login")
    assert "no-store" in anonymous.headers["cache-control"]  # it sets the visitor cookie
    assert client.get("/").headers["cache-control"] == "private"
    token = re.search(r'name="csrf_token" value="([^"]+)"', anonymous.text)
    assert token
    signed_in = client.post(
        "/login",
        data={"csrf_token": token.group(1), "username": user.username, "password": PASSWORD},
        follow_redirects=False,
    )
    assert signed_in.headers["cache-control"] == "no-store"  # sets the session cookie
    account = client.get("/account")
    assert account.headers["cache-control"] == "no-store"
    form = re.search(r'name="csrf_token" value="([^"]+)"', account.text)
    assert form
    ns = unique("cache")
    client.post("/namespaces/new", data={"csrf_token": form.group(1), "name": ns})
    created = client.post(
        "/account/tokens",
        data={"csrf_token": form.group(1), "name": "ci", "namespace": ns, "scopes": "publish"},
    )
    assert 'id="new-token"' in created.text
    assert created.headers["cache-control"] == "no-store"
    assert client.get("/").headers["cache-control"] == "no-store"  # shows who is signed in
