"""The queue's `advisory` decision: deciding a security report opens an advisory draft
for the package, seen by its owners and the moderator, never by the reporter."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from fpmreg.server.accounts.models import Scope, SiteRole, User
from fpmreg.server.clock import SystemClock
from fpmreg.server.events import Event
from fpmreg.server.moderation.deps import ModerationWiring
from fpmreg.server.moderation.models import Notification, Report
from fpmreg.server.moderation.roles import grant_role
from fpmreg.server.storage import BlobStore
from tests.factories import Publisher, make_publisher, publish, reports_bearer
from tests.support.forms import csrf_field, sign_up

API = "/api/v1/moderation/reports"
REASON = "Confirmed: `parse` writes past its buffer on long lines.\nSee the reporter's PoC."


def _manager(session: Session, *, moderator: bool = False) -> Publisher:
    """A user whose own token has `manage` (the scope that shows drafts)."""
    who = make_publisher(session, scopes={Scope.PUBLISH, Scope.MANAGE})
    if moderator:
        grant_role(session, who.user, SiteRole.MODERATOR, at=SystemClock().now(), actor_id=None)
    session.commit()
    return who


def _owner(session: Session, store: BlobStore) -> Publisher:
    owner = _manager(session)
    publish(session, store, owner, "lib", "1.0.0")
    publish(session, store, owner, "lib", "1.1.0")
    return owner


def _file(client: TestClient, ns: str, who: Publisher, version: str = "") -> int:
    answer = client.post(
        f"/api/v1/packages/{ns}/lib/reports",
        json={"category": "security", "message": "overflow in parse", "version": version},
        headers=reports_bearer(who),
    )
    assert answer.status_code == 201, answer.text
    return int(answer.json()["id"])


def _decide(client: TestClient, report: int, who: Publisher, **body: Any) -> Any:
    return client.post(
        f"{API}/{report}/decision",
        json={"decision": "advisory", "reason": REASON, **body},
        headers=reports_bearer(who),
    )


def _told(session: Session, user: User) -> list[Notification]:
    return list(session.scalars(select(Notification).where(Notification.user_id == user.id)))


def test_an_advisory_decision_opens_a_draft_only_owners_and_the_moderator_see(
    client: TestClient, session: Session, store: BlobStore
) -> None:
    owner = _owner(session, store)
    ns = owner.namespace.name
    reporter = _manager(session)
    report = _file(client, ns, reporter, version="1.0.0")
    mod = _manager(session, moderator=True)

    answer = _decide(client, report, mod)

    assert answer.status_code == 200, answer.text
    osv_id = answer.json()["advisory"]
    assert osv_id.startswith("FPMREG-") and answer.json()["report"]["decision"] == "advisory"
    url = f"/api/v1/advisories/{osv_id}"
    for who in (owner, mod):
        seen = client.get(url, headers=reports_bearer(who))
        assert seen.status_code == 200, seen.text
        assert seen.json()["state"] == "draft" and seen.json()["package"] == f"{ns}/lib"
    record = client.get(url, headers=reports_bearer(owner)).json()["record"]
    assert record["summary"] == "Confirmed: `parse` writes past its buffer on long lines."
    assert "the reporter's PoC" in record["details"]
    assert record["affected"][0]["ranges"][0]["events"] == [
        {"introduced": "0"},
        {"last_affected": "1.0.0"},
    ]
    assert client.get(url, headers=reports_bearer(reporter)).status_code == 404
    assert client.get(url).status_code == 404
    query = {"package": {"name": f"{ns}/lib", "ecosystem": "fpm"}}
    assert client.post("/v1/query", json=query).json() == {}  # drafts are not served
    assert client.get(f"/advisories/{osv_id}").status_code == 404  # the page, anonymous

    session.expire_all()
    assert session.get(Report, report).status == "decided"  # type: ignore[union-attr]
    [owner_note] = _told(session, owner.user)
    assert owner_note.url == f"/advisories/{osv_id}" and "advisory is being" in owner_note.message
    [reporter_note] = _told(session, reporter.user)
    assert osv_id not in reporter_note.url + reporter_note.message
    assert "advisory is being prepared" in reporter_note.message
    assert "private" in reporter_note.message
    decide = session.scalars(select(Event).where(Event.action == "report.decide")).all()[-1]
    assert decide.category == "security" and decide.actor_id == mod.user.id
    assert decide.data["decision"] == "advisory" and decide.data["advisory"] == osv_id
    created = session.scalars(select(Event).where(Event.subject == f"advisory:{osv_id}")).one()
    assert created.action == "advisory.create" and created.actor_id == mod.user.id


def test_a_package_report_drafts_every_version_and_a_reason_is_required(
    client: TestClient, session: Session, store: BlobStore
) -> None:
    owner = _owner(session, store)
    report = _file(client, owner.namespace.name, _manager(session))
    mod = _manager(session, moderator=True)

    blank = _decide(client, report, mod, reason="  ")
    assert blank.status_code == 400
    assert blank.json()["errors"][0]["code"] == "decision-reason-missing"

    answer = _decide(client, report, mod)
    assert answer.status_code == 200, answer.text
    osv_id = answer.json()["advisory"]
    seen = client.get(f"/api/v1/advisories/{osv_id}", headers=reports_bearer(mod))
    assert seen.json()["record"]["affected"][0]["ranges"][0]["events"] == [{"introduced": "0"}]
    again = client.get(f"{API}/{report}", headers=reports_bearer(mod)).json()
    assert again["decision"] == "advisory" and again["status"] == "decided"


def test_the_report_page_offers_it_and_links_the_draft(
    client: TestClient, session: Session, store: BlobStore
) -> None:
    owner = _owner(session, store)
    report = _file(client, owner.namespace.name, _manager(session), version="1.1.0")
    sign_up(client, "vera")
    vera = session.scalars(select(User).where(User.username == "vera")).one()
    grant_role(session, vera, SiteRole.MODERATOR, at=SystemClock().now(), actor_id=None)
    session.commit()
    page = f"/moderation/reports/{report}"
    assert 'value="advisory"' in client.get(page).text

    decided = client.post(
        f"{page}/decision",
        data={"csrf_token": csrf_field(client, page), "decision": "advisory", "reason": REASON},
        follow_redirects=True,
    )

    assert decided.status_code == 200, decided.text
    osv_id = session.scalars(select(Event).where(Event.action == "advisory.create")).all()[-1]
    link = f'href="/advisories/{osv_id.subject.removeprefix("advisory:")}"'
    assert "Decided: advisory" in decided.text and link in decided.text
    draft = client.get(f"/advisories/{osv_id.subject.removeprefix('advisory:')}")
    assert draft.status_code == 200 and "buffer" in draft.text  # its author sees it


def test_without_a_drafter_the_decision_is_refused_and_not_offered(
    app: FastAPI, client: TestClient, session: Session, store: BlobStore
) -> None:
    app.state.moderation = ModerationWiring()  # an app built without the advisories join
    owner = _owner(session, store)
    report = _file(client, owner.namespace.name, _manager(session))
    mod = _manager(session, moderator=True)

    refused = _decide(client, report, mod)

    assert refused.status_code == 409
    error = refused.json()["errors"][0]
    assert error["code"] == "advisory-decision-unavailable" and "`dismiss`" in error["detail"]
    assert client.get(f"{API}/{report}", headers=reports_bearer(mod)).json()["status"] == "open"
    dismissed = _decide(client, report, mod, decision="dismiss")
    assert dismissed.status_code == 200 and "advisory" not in dismissed.json()
