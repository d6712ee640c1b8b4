"""In-app notifications: the page, the header's unread count, marking read, the API."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from fpmreg.server.accounts.models import Scope, User
from fpmreg.server.accounts.service import AccountsService
from fpmreg.server.clock import SystemClock
from fpmreg.server.jobs import Job
from fpmreg.server.moderation.notifications import NotificationsService
from tests.factories import PASSWORD, make_publisher, make_user
from tests.support.forms import csrf_field

_UNREAD = re.compile(r'class="badge unread-count"[^>]*>(\d+)<')


def sign_in(client: TestClient, user: User) -> None:
    token = csrf_field(client, "/login")
    response = client.post(
        "/login",
        data={"csrf_token": token, "username": user.username, "password": PASSWORD},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text


def tell(session: Session, user: User, subject: str, *, url: str = "/checks") -> None:
    NotificationsService(session, SystemClock(), mail=False, base_url="http://t").notify(
        [user.id], kind="report.decided", subject=subject, message=f"About {subject}.", url=url
    )
    session.commit()


def header_count(client: TestClient, url: str = "/") -> int | None:
    match = _UNREAD.search(client.get(url).text)
    return int(match.group(1)) if match else None


def test_the_header_shows_the_unread_count_and_the_page_lists_newest_first(
    client: TestClient, session: Session
) -> None:
    user = make_user(session)
    session.commit()
    sign_in(client, user)
    assert header_count(client) is None  # nothing unread: no badge
    tell(session, user, "First")
    tell(session, user, "Second", url="/project/demo/hello")
    assert header_count(client) == 2
    assert header_count(client, "/checks") == 2  # on every page
    page = client.get("/notifications").text
    assert page.index("Second") < page.index("First")
    assert '<a href="/project/demo/hello">Second</a>' in page
    assert "About Second." in page


def test_marking_one_then_all_read_lowers_the_count(client: TestClient, session: Session) -> None:
    user = make_user(session)
    session.commit()
    for subject in ("One", "Two", "Three"):
        tell(session, user, subject)
    sign_in(client, user)
    page = client.get("/notifications").text
    first = re.search(r'action="/notifications/(\d+)/read"', page)
    assert first is not None
    token = csrf_field(client, "/notifications")
    response = client.post(
        f"/notifications/{first.group(1)}/read",
        data={"csrf_token": token},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert header_count(client) == 2
    response = client.post(
        "/notifications/read-all", data={"csrf_token": token}, follow_redirects=False
    )
    assert response.status_code == 303
    assert header_count(client) is None
    assert "Mark all read" not in client.get("/notifications").text


def test_a_mark_read_form_without_its_csrf_token_is_refused(
    client: TestClient, session: Session
) -> None:
    user = make_user(session)
    session.commit()
    tell(session, user, "One")
    sign_in(client, user)
    response = client.post("/notifications/read-all", data={}, follow_redirects=False)
    assert response.status_code == 403
    assert header_count(client) == 1


def test_nobody_reads_or_marks_another_users_notifications(
    client: TestClient, session: Session
) -> None:
    owner, other = make_user(session), make_user(session)
    session.commit()
    tell(session, owner, "Private to the owner")
    sign_in(client, other)
    assert "Private to the owner" not in client.get("/notifications").text
    assert client.get("/api/v1/notifications").json()["notifications"] == []
    theirs = session.scalars(select(Job)).all()
    assert theirs == []  # mail off: no job
    notification_id = (
        NotificationsService(session, SystemClock(), mail=False, base_url="")
        .list_for(owner)
        .items[0]
        .id
    )
    token = csrf_field(client, "/notifications")
    response = client.post(
        "/api/v1/notifications/read",
        json={"ids": [notification_id]},
        headers={"X-CSRF-Token": token},
    )
    assert response.status_code == 404
    assert response.json()["errors"][0]["code"] == "notification-not-found"


def test_the_notifications_page_asks_visitors_to_sign_in(client: TestClient) -> None:
    response = client.get("/notifications", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/notifications"


def test_the_api_lists_pages_and_marks_read_with_a_bearer_token(
    client: TestClient, session: Session
) -> None:
    publisher = make_publisher(session)
    secret, _ = AccountsService(session, SystemClock()).create_token(
        publisher.user, name="reader", scopes={Scope.YANK}, namespace=publisher.namespace.name
    )
    session.commit()
    for n in range(3):
        tell(session, publisher.user, f"Note {n}")
    auth = {"Authorization": f"Bearer {secret}"}
    first = client.get("/api/v1/notifications?limit=2", headers=auth)
    assert first.status_code == 200, first.text
    body = first.json()
    assert [n["subject"] for n in body["notifications"]] == ["Note 2", "Note 1"]
    assert body["unread"] == 3 and body["next_cursor"]
    rest = client.get(f"/api/v1/notifications?cursor={body['next_cursor']}", headers=auth).json()
    assert [n["subject"] for n in rest["notifications"]] == ["Note 0"]
    assert "next_cursor" not in rest
    newest = body["notifications"][0]["id"]
    marked = client.post("/api/v1/notifications/read", json={"ids": [newest]}, headers=auth)
    assert marked.json() == {"marked": 1, "unread": 2}
    again = client.post("/api/v1/notifications/read", json={"ids": [newest]}, headers=auth)
    assert again.json() == {"marked": 0, "unread": 2}
    everything = client.post("/api/v1/notifications/read", json={"all": True}, headers=auth)
    assert everything.json() == {"marked": 2, "unread": 0}


def test_the_api_refuses_strangers_and_cookie_posts_without_the_csrf_header(
    client: TestClient, session: Session
) -> None:
    anonymous = client.get("/api/v1/notifications")
    assert anonymous.status_code == 401
    assert anonymous.json()["errors"][0]["code"] == "token-missing"
    bad = client.get("/api/v1/notifications", headers={"Authorization": "Bearer fpmreg_nope"})
    assert bad.status_code == 401 and bad.json()["errors"][0]["code"] == "token-invalid"
    user = make_user(session)
    session.commit()
    tell(session, user, "One")
    sign_in(client, user)
    assert client.get("/api/v1/notifications").json()["unread"] == 1  # the session reads
    forged = client.post("/api/v1/notifications/read", json={"all": True})
    assert forged.status_code == 403
    assert client.get("/api/v1/notifications").json()["unread"] == 1
    token = csrf_field(client, "/notifications")
    ok = client.post(
        "/api/v1/notifications/read", json={"all": True}, headers={"X-CSRF-Token": token}
    )
    assert ok.json() == {"marked": 1, "unread": 0}


def test_a_bad_cursor_or_limit_says_what_to_fix(client: TestClient, session: Session) -> None:
    user = make_user(session)
    session.commit()
    sign_in(client, user)
    cursor = client.get("/api/v1/notifications?cursor=!!")
    assert cursor.status_code == 400 and cursor.json()["errors"][0]["code"] == "cursor-invalid"
    limit = client.get("/api/v1/notifications?limit=0")
    assert limit.status_code == 400
    assert limit.json()["errors"][0]["code"] == "limit-out-of-range"


def test_notify_names_each_user_once_and_mails_only_those_with_an_address(
    session: Session,
) -> None:
    with_mail, without_mail = make_user(session), make_user(session)
    without_mail.email = ""
    session.flush()
    service = NotificationsService(session, SystemClock(), mail=True, base_url="https://r.example")
    service.notify(
        [with_mail.id, without_mail.id, with_mail.id],
        kind="report.decided",
        subject="Decided",
        message="Your report was decided.",
        url="/project/a/b",
    )
    assert service.unread_count(with_mail) == 1
    assert service.unread_count(without_mail) == 1
    [job] = session.scalars(select(Job)).all()
    assert job.payload["to"] == with_mail.email
    assert "https://r.example/project/a/b" in job.payload["body"]


def test_a_notification_links_only_to_this_registry(session: Session) -> None:
    user = make_user(session)
    service = NotificationsService(session, SystemClock(), mail=False, base_url="http://t")
    for url in ("https://evil.example/", "//evil.example/", "/\\evil.example/"):
        with pytest.raises(ValueError, match="a path on this registry"):
            service.notify([user.id], kind="k", subject="s", message="m", url=url)
    assert service.unread_count(user) == 0
