"""Password strength: zxcvbn's estimate, blank passwords and passwords with the username."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from fpmreg.server.accounts.strength import password_problems
from tests.factories import PASSWORD, unique
from tests.support.forms import csrf_field


@pytest.mark.parametrize(
    ("password", "code", "words"),
    [
        (" " * 10, "password-blank", "only spaces"),
        ("password1234", "password-weak", "This is a very common password"),
        ("qwertyuiop", "password-weak", "too easy to guess"),
        ("aaaaaaaaaaaa", "password-weak", "Repeats"),
        ("grace-hopper-2026!", "password-contains-username", "contains your username"),
        ("short", "password-too-short", "10 to 1024"),
    ],
)
def test_weak_passwords_are_refused_with_advice(password: str, code: str, words: str) -> None:
    [problem] = password_problems(password, username="Grace_Hopper", email="g@example.org")
    assert (problem.code, problem.field) == (code, "password")
    assert words in problem.message


def test_the_factories_password_and_passphrases_pass() -> None:
    assert password_problems(PASSWORD, username="someone") == []
    assert password_problems("quiet lantern over marsh", username="grace") == []


def test_sign_up_refuses_ten_spaces(client: TestClient) -> None:
    username = unique("spaces")
    response = client.post(
        "/signup",
        data={
            "csrf_token": csrf_field(client, "/signup"),
            "username": username,
            "email": f"{username}@example.org",
            "password": " " * 10,
            "password2": " " * 10,
        },
    )
    assert response.status_code == 400
    assert "the password cannot be only spaces" in response.text
    assert f'value="{username}"' in response.text  # the input is kept


def test_sign_up_refuses_a_password_with_the_username(client: TestClient) -> None:
    username = unique("marmalade")
    password = f"{username}-is-my-password"
    response = client.post(
        "/signup",
        data={
            "csrf_token": csrf_field(client, "/signup"),
            "username": username,
            "email": f"{username}@example.org",
            "password": password,
            "password2": password,
        },
    )
    assert response.status_code == 400 and "contains your username" in response.text
    assert password not in response.text  # a password is never sent back
