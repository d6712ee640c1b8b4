"""Forms keep the user on the page: every problem at once, on the form that was sent,
with the input kept (never a password) and the header still signed in."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.factories import PASSWORD, make_user, unique
from tests.support.forms import csrf_field, sign_up


def test_sign_up_reports_taken_names_weak_password_and_mismatch_together(
    client: TestClient, session: Session
) -> None:
    taken = make_user(session)
    session.commit()
    response = client.post(
        "/signup",
        data={
            "csrf_token": csrf_field(client, "/signup"),
            "username": taken.username,
            "email": taken.email.upper(),
            "password": "password1234",
            "password2": "password12345",
        },
    )
    assert response.status_code == 400
    for words in (
        f"the username <code>{taken.username}</code> is taken",  # backticks shown as code
        "another account uses this email address",
        "too easy to guess",
        "the two passwords differ",
    ):
        assert words in response.text
    assert f'value="{taken.username}"' in response.text
    assert "password1234" not in response.text


def test_sign_up_with_only_taken_names_is_a_conflict(client: TestClient, session: Session) -> None:
    taken = make_user(session)
    session.commit()
    response = client.post(
        "/signup",
        data={
            "csrf_token": csrf_field(client, "/signup"),
            "username": taken.username,
            "email": taken.email,
            "password": PASSWORD,
            "password2": PASSWORD,
        },
    )
    assert response.status_code == 409
    assert (
        "is taken" in response.text and "another account uses this email address" in response.text
    )


def test_a_failed_sign_in_keeps_the_username_and_never_says_which_part_was_wrong(
    client: TestClient, session: Session
) -> None:
    user = make_user(session)
    session.commit()
    token = csrf_field(client, "/login")
    answers = [
        client.post(
            "/login", data={"csrf_token": token, "username": name, "password": "not it at all"}
        )
        for name in (user.username, "nobody-by-that-name")
    ]
    assert [a.status_code for a in answers] == [401, 401]
    assert all("wrong username or password" in a.text for a in answers)
    assert f'value="{user.username}"' in answers[0].text
    assert 'href="/password/forgot"' in answers[0].text


def test_a_failed_member_change_shows_the_namespace_page_signed_in(client: TestClient) -> None:
    sign_up(client, owner := unique("owner"))
    token = csrf_field(client, "/namespaces/new")
    client.post("/namespaces/new", data={"csrf_token": token, "name": (ns := unique("crew"))})

    unknown = client.post(
        f"/namespace/{ns}/members",
        data={"csrf_token": token, "username": "no-such-person", "role": "maintainer"},
    )
    assert unknown.status_code == 404
    assert f"Namespace {ns}" in unknown.text
    assert "there is no user <code>no-such-person</code>" in unknown.text
    assert f'<a href="/account">{owner}</a>' in unknown.text  # the header: still signed in
    assert 'value="no-such-person"' in unknown.text  # the input is kept
    assert "Add a member" in unknown.text

    last_admin = client.post(
        f"/namespace/{ns}/members",
        data={"csrf_token": token, "username": owner, "action": "remove"},
    )
    assert last_admin.status_code == 409
    assert "is the last admin" in last_admin.text and f'<a href="/account">{owner}</a>' in (
        last_admin.text
    )


def test_namespace_creation_problems_are_shown_on_its_form(client: TestClient) -> None:
    sign_up(client, unique("nsmaker"))
    token = csrf_field(client, "/namespaces/new")
    response = client.post(
        "/namespaces/new",
        data={"csrf_token": token, "name": "9bad", "description": "x" * 2001},
    )
    assert response.status_code == 400
    assert "Create a namespace" in response.text and "over 2000 characters" in response.text
    assert 'value="9bad"' in response.text


def test_email_change_problems_are_shown_on_its_form(client: TestClient, session: Session) -> None:
    other = make_user(session)
    session.commit()
    sign_up(client, unique("changer"))
    response = client.post(
        "/account/email",
        data={
            "csrf_token": csrf_field(client, "/account"),
            "email": other.email,
            "current_password": "not my password",
        },
    )
    assert response.status_code == 400
    assert "your current password is wrong" in response.text
    assert "another account uses this email address" in response.text
    assert f'value="{other.email}"' in response.text


def test_password_change_problems_are_shown_on_its_form(client: TestClient) -> None:
    sign_up(client, unique("pwchanger"))
    response = client.post(
        "/account/password",
        data={
            "csrf_token": csrf_field(client, "/account"),
            "current_password": "wrong one entirely",
            "password": "          ",
            "password2": "different",
        },
    )
    assert response.status_code == 400
    for words in ("current password is wrong", "only spaces", "the two passwords differ"):
        assert words in response.text
    assert 'id="password"' in response.text
