"""The audit log: owners see their package's events, moderators see and filter all."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from fpmreg.server.accounts.models import Scope, SiteRole, User
from fpmreg.server.accounts.service import AccountsService
from fpmreg.server.clock import SystemClock
from fpmreg.server.events import Event, record_event
from fpmreg.server.moderation.roles import grant_role
from fpmreg.server.storage import BlobStore
from tests.factories import PASSWORD, make_publisher, make_user, publish
from tests.support.forms import csrf_field


def sign_in(client: TestClient, user: User) -> None:
    token = csrf_field(client, "/login")
    response = client.post(
        "/login",
        data={"csrf_token": token, "username": user.username, "password": PASSWORD},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text


def moderator(session: Session) -> User:
    user = make_user(session)
    grant_role(session, user, SiteRole.MODERATOR, at=datetime.now(UTC), actor_id=None)
    session.commit()
    return user


def test_owners_see_their_packages_events_with_actor_and_reason(
    client: TestClient, session: Session, store: BlobStore
) -> None:
    publisher = make_publisher(session)
    ns = publisher.namespace.name
    publish(session, store, publisher, "lib", "1.0.0")
    publish(session, store, make_publisher(session), "other", "1.0.0")
    record_event(
        session,
        at=datetime(2026, 12, 1, 9, 30, tzinfo=UTC),
        actor_id=publisher.user.id,
        action="version.yank",
        subject=f"package:{ns}/lib@1.0.0",
        reason="miscompiles with gfortran 13",
    )
    session.commit()
    sign_in(client, publisher.user)
    page = client.get(f"/project/{ns}/lib/events")
    assert page.status_code == 200, page.text
    assert "version.yank" in page.text and "miscompiles with gfortran 13" in page.text
    assert f"package:{ns}/lib@1.0.0" in page.text
    assert f">{publisher.user.username}</a>" in page.text
    assert "other" not in page.text.split("<tbody>")[1]
    api = client.get(f"/api/v1/packages/{ns}/lib/events").json()["events"]
    assert api[0]["action"] == "version.yank"
    assert api[0]["actor"] == publisher.user.username
    assert {e["subject"] for e in api} == {f"package:{ns}/lib@1.0.0"}


def test_strangers_and_visitors_may_not_read_a_packages_events(
    client: TestClient, session: Session, store: BlobStore
) -> None:
    publisher = make_publisher(session)
    ns = publisher.namespace.name
    publish(session, store, publisher, "lib", "1.0.0")
    stranger = make_user(session)
    session.commit()
    visitor = client.get(f"/api/v1/packages/{ns}/lib/events")
    assert visitor.status_code == 401
    assert client.get(f"/project/{ns}/lib/events", follow_redirects=False).status_code == 303
    sign_in(client, stranger)
    refused = client.get(f"/api/v1/packages/{ns}/lib/events")
    assert refused.status_code == 403
    assert refused.json()["errors"][0]["code"] == "not-permitted"
    assert client.get(f"/project/{ns}/lib/events").status_code == 403
    missing = client.get(f"/api/v1/packages/{ns}/nothing/events")
    assert missing.status_code == 404


def test_moderators_see_every_event_and_filter_them(
    client: TestClient, session: Session, store: BlobStore
) -> None:
    publisher = make_publisher(session)
    ns = publisher.namespace.name
    publish(session, store, publisher, "lib", "1.0.0")
    mod = moderator(session)
    for day, action, actor in (
        (1, "package.quarantine", mod),
        (5, "report.decide", mod),
        (9, "version.yank", publisher.user),
    ):
        record_event(
            session,
            at=datetime(2026, 11, day, 12, tzinfo=UTC),
            actor_id=actor.id,
            action=action,
            subject=f"package:{ns}/lib",
            reason=f"reason {day}",
            category="malware",
        )
    session.commit()
    sign_in(client, mod)

    def actions(query: str) -> list[str]:
        response = client.get(f"/api/v1/moderation/events?{query}")
        assert response.status_code == 200, response.text
        return [e["action"] for e in response.json()["events"]]

    everything = actions("limit=200")
    assert {"package.quarantine", "report.decide", "version.yank", "role.grant"} <= set(everything)
    assert actions(f"subject=package:{ns}/lib&action=package.") == ["package.quarantine"]
    # A package's subject prefix finds its versions' events too (the publish of 1.0.0).
    by_owner = actions(f"subject=package:{ns}/lib&actor={publisher.user.username}")
    assert by_owner == ["version.yank", "version.publish"]
    assert actions(f"subject=package:{ns}/lib&since=2026-11-05&until=2026-11-09") == [
        "version.yank",
        "report.decide",
    ]
    page = client.get(f"/moderation/events?subject=package:{ns}/lib&since=2026-11-02")
    assert page.status_code == 200
    assert "reason 9" in page.text and "reason 1" not in page.text
    swapped = client.get("/api/v1/moderation/events?since=2026-11-09&until=2026-11-01")
    assert swapped.status_code == 400
    assert swapped.json()["errors"][0]["code"] == "date-range-invalid"
    bad_day = client.get("/moderation/events?since=yesterday")
    assert bad_day.status_code == 400 and "YYYY-MM-DD" in bad_day.text


def test_the_whole_log_pages_with_a_cursor(client: TestClient, session: Session) -> None:
    mod = moderator(session)
    subject = f"user:{mod.username}-paging"
    for n in range(5):
        record_event(
            session, at=datetime.now(UTC), actor_id=None, action="test.page", subject=subject
        )
    session.commit()
    sign_in(client, mod)
    seen: list[int] = []
    cursor = ""
    while True:
        body = client.get(
            f"/api/v1/moderation/events?subject={subject}&limit=2&cursor={cursor}"
        ).json()
        seen += [e["id"] for e in body["events"]]
        assert all(e["actor"] == "" for e in body["events"])  # the registry itself
        cursor = body.get("next_cursor", "")
        if not cursor:
            break
    assert len(seen) == 5 and seen == sorted(seen, reverse=True)


def test_only_moderators_and_admins_read_the_whole_log(
    client: TestClient, session: Session
) -> None:
    user, admin = make_user(session), make_user(session, admin=True)
    session.commit()
    assert client.get("/api/v1/moderation/events").status_code == 401
    sign_in(client, user)
    assert client.get("/api/v1/moderation/events").status_code == 403
    assert client.get("/moderation/events").status_code == 403
    client.cookies.clear()
    sign_in(client, admin)
    assert client.get("/api/v1/moderation/events").status_code == 200
    assert client.get("/moderation/events").status_code == 200


def test_token_changes_are_in_the_log(session: Session) -> None:
    publisher = make_publisher(session)
    accounts = AccountsService(session, SystemClock())
    _, token = accounts.create_token(
        publisher.user, name="ci", scopes={Scope.PUBLISH}, namespace=publisher.namespace.name
    )
    accounts.revoke_token(publisher.user, token.id)
    session.flush()
    actions = session.scalars(
        select(Event.action).where(Event.subject == f"namespace:{publisher.namespace.name}")
    ).all()
    assert "token.create" in actions and "token.revoke" in actions
