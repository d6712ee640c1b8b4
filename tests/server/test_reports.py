"""Filing reports: the API (token or session), the form on package pages, the limits."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from fpmreg.server.events import Event
from fpmreg.server.moderation.models import Report
from fpmreg.server.moderation.reports import MAX_REPORTS_PER_HOUR
from fpmreg.server.storage import BlobStore
from tests.factories import (
    Publisher,
    make_publisher,
    make_reports_trusted,
    publish,
    reports_bearer,
)
from tests.support.forms import csrf_field, sign_up


def _package(session: Session, store: BlobStore) -> Publisher:
    owner = make_publisher(session)
    publish(session, store, owner, "lib", "1.0.0")
    publish(session, store, owner, "lib", "1.1.0")
    return owner


def _report(client: TestClient, ns: str, who: Publisher, **body: str) -> dict[str, object]:
    response = client.post(
        f"/api/v1/packages/{ns}/lib/reports",
        json={"category": "spam", "message": "an advert", **body},
        headers=reports_bearer(who),
    )
    return {"http": response.status_code, **response.json()}


def test_a_user_reports_a_version_with_a_token_of_any_scope(
    client: TestClient, session: Session, store: BlobStore
) -> None:
    owner = _package(session, store)
    ns = owner.namespace.name
    reporter = make_publisher(session)  # a publish token of their own namespace

    answer = _report(client, ns, reporter, version="1.0", category="broken")

    assert answer["http"] == 201, answer
    assert answer["subject"] == f"{ns}/lib@1.0.0"
    assert answer["category"] == "broken" and answer["status"] == "open"
    row = session.scalars(select(Report).where(Report.id == answer["id"])).one()
    assert row.status == "open" and row.trusted is False and row.version == "1.0.0"
    event = session.scalars(select(Event).where(Event.action == "report.file")).all()[-1]
    assert event.actor_id == reporter.user.id and event.subject == f"report:{row.id}"
    assert event.category == "" and "an advert" not in str(event.data) + event.reason


def test_one_open_report_per_reporter_and_subject(
    client: TestClient, session: Session, store: BlobStore
) -> None:
    owner = _package(session, store)
    ns = owner.namespace.name
    reporter = make_publisher(session)
    assert _report(client, ns, reporter)["http"] == 201

    again = _report(client, ns, reporter, category="other")

    assert again["http"] == 409
    assert again["errors"][0]["code"] == "report-exists"  # type: ignore[index]
    # Another subject (one version) and another reporter are fine.
    assert _report(client, ns, reporter, version="1.1.0")["http"] == 201
    assert _report(client, ns, make_publisher(session))["http"] == 201


def test_reporting_a_missing_version_or_package_is_404(
    client: TestClient, session: Session, store: BlobStore
) -> None:
    owner = _package(session, store)
    reporter = make_publisher(session)
    missing = _report(client, owner.namespace.name, reporter, version="9.9.9")
    assert missing["http"] == 404
    assert missing["errors"][0]["code"] == "version-not-found"  # type: ignore[index]
    assert _report(client, "nowhere", reporter)["http"] == 404


def test_reports_are_rate_limited_per_reporter(
    client: TestClient, session: Session, store: BlobStore
) -> None:
    reporter = make_publisher(session)
    owners = []
    for i in range(MAX_REPORTS_PER_HOUR + 1):
        owner = make_publisher(session)
        publish(session, store, owner, "lib", "1.0.0")
        owners.append(owner)
    for owner in owners[:MAX_REPORTS_PER_HOUR]:
        assert _report(client, owner.namespace.name, reporter)["http"] == 201

    response = client.post(
        f"/api/v1/packages/{owners[-1].namespace.name}/lib/reports",
        json={"category": "spam", "message": "x"},
        headers=reports_bearer(reporter),
    )

    assert response.status_code == 429
    assert response.json()["errors"][0]["code"] == "rate-limited"
    assert int(response.headers["Retry-After"]) > 0
    # Someone else is not limited by it.
    assert _report(client, owners[-1].namespace.name, make_publisher(session))["http"] == 201


def test_trusted_reporters_reports_are_flagged(
    client: TestClient, session: Session, store: BlobStore
) -> None:
    owner = _package(session, store)
    trusted = make_reports_trusted(session)
    answer = _report(client, owner.namespace.name, trusted)
    assert session.get(Report, answer["id"]).trusted is True  # type: ignore[union-attr]


def test_bad_input_says_what_to_fix(client: TestClient, session: Session, store: BlobStore) -> None:
    owner = _package(session, store)
    reporter = make_publisher(session)
    blank = _report(client, owner.namespace.name, reporter, message="   ")
    assert blank["errors"][0]["code"] == "report-message-missing"  # type: ignore[index]
    wrong = _report(client, owner.namespace.name, reporter, category="rude")
    assert wrong["http"] == 422
    anonymous = client.post(
        f"/api/v1/packages/{owner.namespace.name}/lib/reports",
        json={"category": "spam", "message": "x"},
    )
    assert anonymous.status_code == 401
    assert anonymous.json()["errors"][0]["code"] == "token-missing"


def test_the_form_on_the_version_page_files_a_report_and_says_so(
    client: TestClient, session: Session, store: BlobStore
) -> None:
    owner = _package(session, store)
    ns = owner.namespace.name
    anonymous = client.get(f"/project/{ns}/lib/1.0.0").text
    assert "to report this package" in anonymous and 'name="message"' not in anonymous
    sign_up(client, "carol")
    page = f"/project/{ns}/lib/1.0.0"

    answer = client.post(
        f"/project/{ns}/lib/report",
        data={
            "csrf_token": csrf_field(client, page),
            "version": "1.0.0",
            "category": "copyright",
            "message": "copied from netlib without its licence",
        },
        follow_redirects=False,
    )

    assert answer.status_code == 303, answer.text[-1500:]
    assert answer.headers["location"] == f"{page}?report=filed#report"
    assert "your report is in the moderators' queue" in client.get(answer.headers["location"]).text
    row = session.scalars(select(Report).where(Report.subject == f"{ns}/lib@1.0.0")).one()
    assert row.category == "copyright"


def test_the_form_needs_its_csrf_field(
    client: TestClient, session: Session, store: BlobStore
) -> None:
    owner = _package(session, store)
    sign_up(client, "dave")
    refused = client.post(
        f"/project/{owner.namespace.name}/lib/report",
        data={"category": "spam", "message": "x"},
    )
    assert refused.status_code == 403
    assert not session.scalars(select(Report).where(Report.message == "x")).all()


def test_a_session_may_use_the_api_but_only_with_the_pages_csrf_token(
    client: TestClient, session: Session, store: BlobStore
) -> None:
    owner = _package(session, store)
    sign_up(client, "erin")
    url = f"/api/v1/packages/{owner.namespace.name}/lib/reports"
    body = {"category": "spam", "message": "x"}
    foreign = client.post(url, json=body, headers={"Origin": "https://evil.example"})
    assert foreign.status_code == 403  # a cross-site page cannot send the header
    forged = client.post(url, json=body, headers={"X-CSRF-Token": "forged"})
    assert forged.status_code == 403
    token = csrf_field(client, f"/project/{owner.namespace.name}/lib")
    assert client.post(url, json=body, headers={"X-CSRF-Token": token}).status_code == 201
