"""User and namespace names that look like a taken one are refused, as package names are.

`tooIbox` (capital i), `t00lbox` (zeros), `too1box` (one) and `toolb0x` next to
`toolbox` would let anyone pose as its owner; PyPI's "ultranormalize" skeleton
(`fpmreg.core.names.confusable_name`) catches them all.
"""

from __future__ import annotations

import html

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from fpmreg.server.accounts.service import AccountsService
from fpmreg.server.clock import SystemClock
from fpmreg.server.errors import Conflict
from tests.factories import make_user, unique
from tests.support.forms import csrf_field, sign_up

LOOKALIKES = {
    "capital-i": ("l", "I"),
    "zeros": ("oo", "00"),
    "one": ("l", "1"),
    "zero": ("ox", "0x"),
}


def lookalike(name: str, how: str) -> str:
    """`name` with one confusable swap (applied to its `toolbox` part)."""
    old, new = LOOKALIKES[how]
    if how == "zero":
        return name.replace("box", "b0x", 1)
    return name.replace(old, new, 1)


def _sign_up(client: TestClient, username: str) -> str:
    response = sign_up(client, username)
    return html.unescape(response.text) if response.status_code != 200 else ""


@pytest.mark.parametrize("how", LOOKALIKES)
def test_a_username_that_looks_like_a_taken_one_is_refused(session: Session, how: str) -> None:
    taken = make_user(session, unique("toolbox"))
    twin = lookalike(taken.username, how)
    assert twin != taken.username
    with pytest.raises(Conflict) as refused:
        make_user(session, twin)
    problem = refused.value.problems[0]
    assert (problem.code, problem.field) == ("username-confusable", "username")
    assert f"`{twin}`" in problem.message and f"`{taken.username}`" in problem.message


@pytest.mark.parametrize("how", LOOKALIKES)
def test_a_namespace_that_looks_like_a_taken_one_is_refused(session: Session, how: str) -> None:
    accounts = AccountsService(session, SystemClock())
    owner = make_user(session)
    taken = accounts.create_namespace(owner, unique("toolbox"))
    twin = lookalike(taken.name, how)
    with pytest.raises(Conflict) as refused:
        accounts.create_namespace(make_user(session), twin)
    problem = refused.value.problems[0]
    assert (problem.code, problem.field) == ("namespace-confusable", "name")
    assert f"`{twin}`" in problem.message and f"`{taken.name}`" in problem.message


def test_names_that_only_share_letters_are_still_free(session: Session) -> None:
    accounts = AccountsService(session, SystemClock())
    base = unique("toolbox")
    user = make_user(session, base)
    accounts.create_namespace(user, base)
    other = make_user(session, base.replace("toolbox", "toolbag"))
    assert accounts.create_namespace(other, base.replace("toolbox", "toolbag")).id


def test_signup_page_names_the_existing_user_a_new_name_is_confused_with(
    client: TestClient,
) -> None:
    taken = unique("toolbox")
    assert _sign_up(client, taken) == ""
    client.cookies.clear()
    twin = lookalike(taken, "capital-i")
    page = _sign_up(client, twin)
    assert (
        f"the username <code>{twin}</code> is too easily confused with the existing user "
        f"<code>{taken}</code>"
    ) in page
    assert f'value="{twin}"' in page  # the form keeps what was typed


def test_new_namespace_page_names_the_existing_namespace_a_new_name_is_confused_with(
    client: TestClient, session: Session
) -> None:
    taken = unique("toolbox")
    accounts = AccountsService(session, SystemClock())
    accounts.create_namespace(make_user(session), taken)
    session.commit()
    assert _sign_up(client, unique("member")) == ""
    twin = lookalike(taken, "zeros")
    response = client.post(
        "/namespaces/new",
        data={"csrf_token": csrf_field(client, "/namespaces/new"), "name": twin, "description": ""},
    )
    assert response.status_code == 409
    page = html.unescape(response.text)
    assert (
        f"the namespace <code>{twin}</code> is too easily confused with the existing namespace "
        f"<code>{taken}</code>" in page
    )
