"""CSRF: tokens bound to the browser's session, the Origin checked, every form covered."""

from __future__ import annotations

import re

from fastapi import FastAPI
from fastapi.responses import PlainTextResponse
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.factories import PASSWORD, make_user, unique


def _token(client: TestClient, url: str) -> str:
    page = client.get(url)
    assert page.status_code == 200, page.text
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert match, "form has no CSRF field"
    return match.group(1)


def _sign_in(client: TestClient, username: str) -> None:
    token = _token(client, "/login")
    signed_in = client.post(
        "/login", data={"csrf_token": token, "username": username, "password": PASSWORD}
    )
    assert signed_in.status_code == 200 and username in signed_in.text


def _namespace_exists(client: TestClient, name: str) -> bool:
    return client.get(f"/namespace/{name}").status_code == 200


def test_token_and_cookie_of_another_browser_are_refused(app: FastAPI, session: Session) -> None:
    victim_user = make_user(session)
    session.commit()
    with TestClient(app) as victim, TestClient(app) as attacker:
        _sign_in(victim, victim_user.username)
        # The attacker gets a genuine token in their own browser, and plants their own
        # CSRF cookie in the victim's browser (a sibling subdomain, or plain HTTP).
        forged = _token(attacker, "/signup")
        for name, value in attacker.cookies.items():
            if "csrf" in name:
                victim.cookies.set(name, value)
        refused = victim.post("/namespaces/new", data={"csrf_token": forged, "name": unique("x")})
        assert refused.status_code == 403 and "reload the page" in refused.text
        name = unique("ok")
        token = _token(victim, "/namespaces/new")
        assert victim.post("/namespaces/new", data={"csrf_token": token, "name": name}).is_success
        assert _namespace_exists(victim, name)


def test_form_from_another_origin_is_refused(client: TestClient, session: Session) -> None:
    user = make_user(session)
    session.commit()
    _sign_in(client, user.username)
    token = _token(client, "/namespaces/new")
    for origin in ("https://evil.example", "null", "http://testserver.evil.example"):
        name = unique("cross")
        refused = client.post(
            "/namespaces/new", data={"csrf_token": token, "name": name}, headers={"Origin": origin}
        )
        assert refused.status_code == 403, origin
        assert f"<code>{origin}</code>" in refused.text and "http://testserver" in refused.text
        assert not _namespace_exists(client, name)
    same = client.post(
        "/namespaces/new",
        data={"csrf_token": token, "name": (name := unique("same"))},
        headers={"Origin": "http://testserver"},
    )
    assert same.is_success and _namespace_exists(client, name)


def test_token_changes_at_sign_in_and_sign_out(client: TestClient, session: Session) -> None:
    user = make_user(session)
    session.commit()
    before = _token(client, "/login")
    _sign_in(client, user.username)
    signed_in = _token(client, "/namespaces/new")
    assert signed_in != before
    stale = client.post("/namespaces/new", data={"csrf_token": before, "name": unique("old")})
    assert stale.status_code == 403

    assert client.post("/logout", data={"csrf_token": signed_in}).is_success
    after = _token(client, "/login")
    assert after not in (before, signed_in)
    replayed = client.post(
        "/login", data={"csrf_token": signed_in, "username": user.username, "password": PASSWORD}
    )
    assert replayed.status_code == 403


def test_a_new_form_route_is_protected_without_any_code_of_its_own(
    app: FastAPI, client: TestClient
) -> None:
    @app.post("/test-only/form")
    def unguarded() -> PlainTextResponse:
        return PlainTextResponse("changed something")

    refused = client.post("/test-only/form", data={"anything": "1"})
    assert refused.status_code == 403 and "changed something" not in refused.text
    token = _token(client, "/login")
    assert client.post("/test-only/form", data={"csrf_token": token}).text == "changed something"


def test_production_csrf_cookie_is_host_prefixed(production_client: TestClient) -> None:
    page = production_client.get("/signup")
    cookie = next(c for c in page.headers.get_list("set-cookie") if "csrf" in c)
    name, _, attributes = cookie.partition("=")
    assert name == "__Host-fpmreg_csrf"
    flags = {a.strip().split("=")[0].lower() for a in attributes.split(";")[1:]}
    assert {"secure", "path", "httponly"} <= flags and "domain" not in flags
    assert "path=/" in cookie.lower().replace(" ", "")
