"""The moderators' queue: filters, claims, decisions and who is told what."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from fpmreg.server.accounts.models import SiteRole, User
from fpmreg.server.clock import SystemClock
from fpmreg.server.events import Event
from fpmreg.server.moderation.models import Notification, Report
from fpmreg.server.moderation.roles import grant_role
from fpmreg.server.packages.models import Package, Version
from fpmreg.server.storage import BlobStore
from tests.factories import (
    Publisher,
    make_publisher,
    make_reports_moderator,
    make_reports_trusted,
    publish,
    reports_bearer,
)
from tests.support.forms import csrf_field, sign_up

API = "/api/v1/moderation/reports"


def _package(session: Session, store: BlobStore, name: str = "lib") -> Publisher:
    owner = make_publisher(session)
    publish(session, store, owner, name, "1.0.0")
    return owner


def _file(
    client: TestClient, ns: str, who: Publisher, category: str = "spam", version: str = ""
) -> int:
    response = client.post(
        f"/api/v1/packages/{ns}/lib/reports",
        json={"category": category, "message": "look at src/", "version": version},
        headers=reports_bearer(who),
    )
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def _told(session: Session, user: User) -> list[Notification]:
    return list(session.scalars(select(Notification).where(Notification.user_id == user.id)))


def test_only_moderators_see_the_queue(
    client: TestClient, session: Session, store: BlobStore
) -> None:
    owner = _package(session, store)
    _file(client, owner.namespace.name, make_publisher(session))
    refused = client.get(API, headers=reports_bearer(owner))
    assert refused.status_code == 403 and refused.json()["errors"][0]["code"] == "not-permitted"
    assert client.get(API).status_code == 401
    assert client.get(API, headers=reports_bearer(make_reports_moderator(session))).json()["total"]


def test_filters_by_category_subject_and_trusted_first(
    client: TestClient, session: Session, store: BlobStore
) -> None:
    first, second = _package(session, store), _package(session, store)
    plain = _file(client, first.namespace.name, make_publisher(session), "spam")
    trusted = _file(client, first.namespace.name, make_reports_trusted(session), "broken")
    other = _file(client, second.namespace.name, make_publisher(session), "spam")
    mod = reports_bearer(make_reports_moderator(session))

    def ids(**params: object) -> list[int]:
        answer = client.get(API, params=params, headers=mod)
        assert answer.status_code == 200, answer.text
        return [r["id"] for r in answer.json()["reports"]]

    assert ids(subject=first.namespace.name.upper() + "/") == [plain, trusted]
    assert ids(subject=first.namespace.name + "/", trusted_first=True) == [trusted, plain]
    assert other in ids(category="spam") and trusted not in ids(category="spam")
    assert ids(subject=second.namespace.name, older_than=1) == []
    assert ids(subject=second.namespace.name, newer_than=1) == [other]
    assert ids(subject=second.namespace.name, status="decided") == []
    bad = client.get(API, params={"category": "rude"}, headers=mod)
    assert bad.status_code == 400 and bad.json()["errors"][0]["code"] == "report-category-invalid"


def test_a_claimed_report_shows_who_and_others_cannot_claim_it_unless_forced(
    client: TestClient, session: Session, store: BlobStore
) -> None:
    owner = _package(session, store)
    report = _file(client, owner.namespace.name, make_publisher(session))
    alice, bob = make_reports_moderator(session), make_reports_moderator(session)

    claimed = client.post(f"{API}/{report}/claim", headers=reports_bearer(alice))
    assert claimed.status_code == 200
    assert claimed.json()["claimed_by"] == alice.user.username
    assert claimed.json()["status"] == "claimed"

    taken = client.post(f"{API}/{report}/claim", headers=reports_bearer(bob))
    assert taken.status_code == 409 and taken.json()["errors"][0]["code"] == "report-claimed"
    assert alice.user.username in taken.json()["errors"][0]["detail"]
    deciding = client.post(
        f"{API}/{report}/decision",
        json={"decision": "dismiss", "reason": "fine"},
        headers=reports_bearer(bob),
    )
    assert deciding.status_code == 409

    forced = client.post(f"{API}/{report}/claim", json={"force": True}, headers=reports_bearer(bob))
    assert forced.json()["claimed_by"] == bob.user.username


def test_dismissing_decides_every_open_report_on_the_subject_and_tells_everyone(
    client: TestClient, session: Session, store: BlobStore
) -> None:
    owner = _package(session, store)
    ns = owner.namespace.name
    carol, dave = make_publisher(session), make_publisher(session)
    first, second = _file(client, ns, carol), _file(client, ns, dave)
    elsewhere = _file(client, ns, carol, version="1.0.0")  # another subject
    mod = make_reports_moderator(session)

    answer = client.post(
        f"{API}/{first}/decision",
        json={"decision": "dismiss", "reason": "not spam: a normal README"},
        headers=reports_bearer(mod),
    )

    assert answer.status_code == 200, answer.text
    assert answer.json()["also_decided"] == [second]
    assert answer.json()["report"]["decision"] == "dismiss"
    session.expire_all()
    assert session.get(Report, second).decision == "dismiss"  # type: ignore[union-attr]
    assert session.get(Report, elsewhere).status == "open"  # type: ignore[union-attr]
    for reporter in (carol, dave):
        [note] = _told(session, reporter.user)
        assert "dismissed" in note.message and "a normal README" in note.message
    [owner_note] = _told(session, owner.user)
    assert "dismissed" in owner_note.message
    assert carol.user.username not in owner_note.message + owner_note.subject
    event = session.scalars(select(Event).where(Event.action == "report.decide")).all()[-1]
    assert event.category == "spam" and event.actor_id == mod.user.id
    again = client.post(
        f"{API}/{second}/decision",
        json={"decision": "dismiss", "reason": "x"},
        headers=reports_bearer(mod),
    )
    assert again.status_code == 409 and again.json()["errors"][0]["code"] == "report-decided"


def test_a_yank_decision_yanks_the_reported_version(
    client: TestClient, session: Session, store: BlobStore
) -> None:
    owner = _package(session, store)
    ns = owner.namespace.name
    on_package = _file(client, ns, make_publisher(session), "broken")
    on_version = _file(client, ns, make_publisher(session), "broken", version="1.0.0")
    mod = reports_bearer(make_reports_moderator(session))
    body = {"decision": "yank", "reason": "does not build with gfortran 13"}

    refused = client.post(f"{API}/{on_package}/decision", json=body, headers=mod)
    assert refused.json()["errors"][0]["code"] == "decision-needs-version"
    assert client.post(f"{API}/{on_version}/decision", json=body, headers=mod).status_code == 200

    session.expire_all()
    version = session.scalars(select(Version).where(Version.sha256 != "")).all()
    row = next(v for v in version if v.package_id == session.get(Report, on_version).package_id)  # type: ignore[union-attr]
    assert row.yanked and row.yank_reason == body["reason"]
    yank = session.scalars(select(Event).where(Event.action == "version.yank")).all()[-1]
    decide = session.scalars(select(Event).where(Event.action == "report.decide")).all()[-1]
    assert yank.category == "broken" and decide.category == ""  # counted once


def test_quarantine_and_delete_decisions_change_the_package(
    client: TestClient, session: Session, store: BlobStore
) -> None:
    owner = _package(session, store)
    ns = owner.namespace.name
    report = _file(client, ns, make_publisher(session), "typosquatting")
    mod = reports_bearer(make_reports_moderator(session))

    quarantine = client.post(
        f"{API}/{report}/decision",
        json={"decision": "quarantine", "reason": "imitates lapack"},
        headers=mod,
    )
    assert quarantine.status_code == 200, quarantine.text
    assert client.get(f"/packages/{ns}/lib").status_code != 200
    deleting = _file(client, ns, make_publisher(session), "malware", version="1.0.0")
    delete = client.post(
        f"{API}/{deleting}/decision",
        json={"decision": "delete", "reason": "a credential stealer"},
        headers=mod,
    )
    assert delete.status_code == 200, delete.text
    assert client.get(f"/api/v1/index/{ns}/lib").json().get("versions", []) == []
    events = session.scalars(select(Event).where(Event.subject.like(f"package:{ns}/lib%"))).all()
    counted = [(e.action, e.category) for e in events if e.category]
    assert ("package.quarantine", "typosquatting") in counted
    assert ("version.delete", "malware") in counted
    assert not [a for a, _ in counted if a == "report.decide"]


def test_dismissing_the_malware_report_ends_an_automatic_quarantine(
    client: TestClient, session: Session, store: BlobStore
) -> None:
    owner = _package(session, store)  # published just now: one malware report suffices
    ns = owner.namespace.name
    report = _file(client, ns, make_publisher(session), "malware")
    package = session.scalars(select(Package).where(Package.namespace_id == owner.namespace.id))
    row = package.one()
    session.refresh(row)
    assert row.quarantined_at is not None

    answer = client.post(
        f"{API}/{report}/decision",
        json={"decision": "dismiss", "reason": "a false positive: the hook is documented"},
        headers=reports_bearer(make_reports_moderator(session)),
    )

    assert answer.status_code == 200, answer.text
    session.refresh(row)
    assert row.quarantined_at is None
    assert client.get(f"/packages/{ns}/lib").status_code == 200


def test_the_queue_pages_claim_and_decide_with_csrf(
    client: TestClient, session: Session, store: BlobStore
) -> None:
    owner = _package(session, store)
    report = _file(client, owner.namespace.name, make_publisher(session), "copyright")
    sign_up(client, "mona")
    mona = session.scalars(select(User).where(User.username == "mona")).one()
    assert client.get("/moderation/queue").status_code == 403
    grant_role(session, mona, SiteRole.MODERATOR, at=SystemClock().now(), actor_id=None)
    session.commit()

    queue = client.get("/moderation/queue", params={"category": "copyright"})
    assert queue.status_code == 200 and f"{owner.namespace.name}/lib" in queue.text
    page = f"/moderation/reports/{report}"
    claimed = client.post(
        f"{page}/claim", data={"csrf_token": csrf_field(client, page)}, follow_redirects=True
    )
    assert "You claimed this report" in claimed.text and "claimed by" in claimed.text
    assert client.post(f"{page}/decision", data={"decision": "dismiss"}).status_code == 403
    decided = client.post(
        f"{page}/decision",
        data={
            "csrf_token": csrf_field(client, page),
            "decision": "dismiss",
            "reason": "the licence allows it",
        },
        follow_redirects=True,
    )
    assert decided.status_code == 200
    assert "Decided: dismiss" in decided.text and "the licence allows it" in decided.text
