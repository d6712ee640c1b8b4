"""Filling the registry's web forms as a browser does: read the CSRF field, then post."""

from __future__ import annotations

import re

import httpx
from fastapi.testclient import TestClient

from tests.factories import PASSWORD

_CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_field(client: TestClient, url: str) -> str:
    """The CSRF token in the form of the page at `url`."""
    page = client.get(url)
    assert page.status_code == 200, page.text
    match = _CSRF_FIELD.search(page.text)
    assert match, "form has no CSRF field"
    return match.group(1)


def sign_up(client: TestClient, username: str) -> httpx.Response:
    """Post the sign-up form for `username` (password `PASSWORD`); the raw answer."""
    return client.post(
        "/signup",
        data={
            "csrf_token": csrf_field(client, "/signup"),
            "username": username,
            "email": f"{username}@example.org",
            "password": PASSWORD,
            "password2": PASSWORD,
        },
    )
