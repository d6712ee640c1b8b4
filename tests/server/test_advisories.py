"""Advisories over `/api/v1`: drafts, who sees them, publishing, withdrawing, and the
advisories embedded in package, version and fpm answers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from fpmreg.core.advisory import is_affected
from fpmreg.server.accounts.models import Scope, SiteRole
from fpmreg.server.advisories.deps import AdvisoriesWiring
from fpmreg.server.advisories.notices import Published
from fpmreg.server.advisories.schema import record_problems
from fpmreg.server.clock import SystemClock
from fpmreg.server.events import Event
from fpmreg.server.moderation.models import Notification, Report
from fpmreg.server.moderation.roles import grant_role
from fpmreg.server.packages.models import Package
from fpmreg.server.storage import BlobStore
from tests.factories import Publisher, make_publisher, publish

CVSS = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"


@dataclass
class Recorder:
    """A `PublishListener` that remembers what it was told."""

    told: list[Published] = field(default_factory=list)

    def advisory_published(self, session: Session, published: Published) -> None:
        self.told.append(published)


@pytest.fixture
def recorder(app: FastAPI) -> Recorder:
    listener = Recorder()
    app.state.advisories = AdvisoriesWiring(listener=listener)
    return listener


@pytest.fixture
def owner(session: Session, store: BlobStore) -> Publisher:
    """A namespace with `lib` 1.0.0, 1.1.0 and 1.2.0, and a token with `manage`."""
    publisher = make_publisher(session, scopes={Scope.PUBLISH, Scope.MANAGE})
    for version in ("1.0.0", "1.1.0", "1.2.0"):
        publish(session, store, publisher, "lib", version)
    return publisher


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def draft_body(package: str, **fields: Any) -> dict[str, Any]:
    return {
        "package": package,
        "summary": "Out-of-bounds write in `parse`",
        "details": "A long line overflows the buffer.",
        "events": [{"introduced": "0"}, {"fixed": "1.2.0"}],
        "severity": [{"type": "CVSS_V3", "score": CVSS}],
        "aliases": ["CVE-2026-12345"],
        "references": [{"type": "FIX", "url": "https://example.org/fix"}],
        "credits": [{"name": "Ada", "type": "FINDER"}],
        "mitigation": {"upgrade_to": "1.2.0"},
        **fields,
    }


def create(client: TestClient, owner: Publisher, **fields: Any) -> dict[str, Any]:
    answer = client.post(
        "/api/v1/advisories",
        json=draft_body(f"{owner.namespace.name}/lib", **fields),
        headers=bearer(owner.token),
    )
    assert answer.status_code == 201, answer.text
    body: dict[str, Any] = answer.json()
    return body


def test_a_maintainer_drafts_an_advisory_with_a_valid_osv_record(
    client: TestClient, owner: Publisher
) -> None:
    body = create(client, owner)
    assert body["state"] == "draft"
    assert body["id"].startswith("FPMREG-") and body["id"].endswith("-0001")
    record = body["record"]
    assert record_problems(record, "FPMREG") == []
    assert "published" not in record
    assert record["database_specific"] == {"mitigation": {"upgrade_to": "1.2.0"}}
    assert body["scores"] == [
        {"type": "CVSS_V3", "vector": CVSS, "score": 9.8, "rating": "Critical"}
    ]
    assert create(client, owner)["id"].endswith("-0002")


def test_drafts_are_hidden_from_everyone_but_editors(
    client: TestClient, session: Session, owner: Publisher
) -> None:
    osv_id = create(client, owner)["id"]
    assert client.get(f"/api/v1/advisories/{osv_id}").status_code == 404
    assert client.get(f"/advisories/{osv_id}").status_code == 404
    assert client.get(f"/v1/vulns/{osv_id}").status_code == 404
    stranger = make_publisher(session, scopes={Scope.MANAGE})
    session.commit()
    hidden = client.get(f"/api/v1/advisories/{osv_id}", headers=bearer(stranger.token))
    assert hidden.status_code == 404
    seen = client.get(f"/api/v1/advisories/{osv_id}", headers=bearer(owner.token))
    assert seen.status_code == 200 and seen.json()["state"] == "draft"


def test_strangers_cannot_write_advisories_for_a_package(
    client: TestClient, session: Session, owner: Publisher
) -> None:
    stranger = make_publisher(session, scopes={Scope.MANAGE})
    session.commit()
    answer = client.post(
        "/api/v1/advisories",
        json=draft_body(f"{owner.namespace.name}/lib"),
        headers=bearer(stranger.token),
    )
    assert answer.status_code == 403
    assert answer.json()["errors"][0]["code"] == "token-namespace"
    assert client.post("/api/v1/advisories", json=draft_body("x/y")).status_code == 401


def test_the_security_team_writes_and_publishes_for_any_package(
    client: TestClient, session: Session, owner: Publisher, recorder: Recorder
) -> None:
    team = make_publisher(session, scopes={Scope.MANAGE})
    grant_role(session, team.user, SiteRole.SECURITY, at=SystemClock().now(), actor_id=None)
    session.commit()
    answer = client.post(
        "/api/v1/advisories",
        json=draft_body(f"{owner.namespace.name}/lib"),
        headers=bearer(team.token),
    )
    assert answer.status_code == 201, answer.text
    osv_id = answer.json()["id"]
    published = client.post(f"/api/v1/advisories/{osv_id}/publish", headers=bearer(team.token))
    assert published.status_code == 200 and published.json()["state"] == "published"
    assert [p.osv_id for p in recorder.told] == [osv_id]
    assert recorder.told[0].package == f"{owner.namespace.name}/lib"


def test_publishing_makes_it_public_embedded_and_audited(
    client: TestClient, session: Session, owner: Publisher, recorder: Recorder
) -> None:
    osv_id = create(client, owner)["id"]
    answer = client.post(f"/api/v1/advisories/{osv_id}/publish", headers=bearer(owner.token))
    assert answer.status_code == 200
    record = answer.json()["record"]
    assert record["published"] == record["modified"]
    assert record_problems(record, "FPMREG") == []
    assert client.get(f"/api/v1/advisories/{osv_id}").json()["state"] == "published"
    again = client.post(f"/api/v1/advisories/{osv_id}/publish", headers=bearer(owner.token))
    assert again.status_code == 409

    ns = owner.namespace.name
    package = client.get(f"/api/v1/packages/{ns}/lib").json()
    assert [a["id"] for a in package["advisories"]] == [osv_id]
    embedded = package["advisories"][0]
    assert embedded["fixed_versions"] == ["1.2.0"]
    assert embedded["mitigation"] == {"upgrade_to": "1.2.0"}
    assert embedded["severity"][0]["rating"] == "Critical"
    by_version = {v["version"]: [a["id"] for a in v["advisories"]] for v in package["versions"]}
    assert by_version == {"1.0.0": [osv_id], "1.1.0": [osv_id], "1.2.0": []}
    version = client.get(f"/api/v1/packages/{ns}/lib/versions/1.1.0").json()
    assert [a["id"] for a in version["advisories"]] == [osv_id]

    fpm_old = client.get(f"/packages/{ns}/lib/1.0.0").json()
    assert [a["id"] for a in fpm_old["data"]["version_data"]["advisories"]] == [osv_id]
    fpm_latest = client.get(f"/packages/{ns}/lib").json()
    assert "advisories" not in fpm_latest["data"]["latest_version_data"]

    actions = session.scalars(
        select(Event.action).where(Event.subject == f"advisory:{osv_id}").order_by(Event.id)
    )
    assert list(actions) == ["advisory.create", "advisory.publish"]


def test_withdrawn_advisories_stop_affecting_versions(
    client: TestClient, owner: Publisher, recorder: Recorder
) -> None:
    osv_id = create(client, owner)["id"]
    client.post(f"/api/v1/advisories/{osv_id}/publish", headers=bearer(owner.token))
    answer = client.post(
        f"/api/v1/advisories/{osv_id}/withdraw",
        json={"reason": "not exploitable"},
        headers=bearer(owner.token),
    )
    assert answer.status_code == 200
    body = answer.json()
    assert body["state"] == "withdrawn" and body["record"]["withdrawn"]
    assert not is_affected(body["record"], "1.0.0")
    ns = owner.namespace.name
    assert client.get(f"/api/v1/packages/{ns}/lib").json()["advisories"] == []
    assert (
        "advisories" not in client.get(f"/packages/{ns}/lib/1.0.0").json()["data"]["version_data"]
    )
    assert client.get(f"/v1/vulns/{osv_id}").json()["withdrawn"] == body["record"]["withdrawn"]


def test_update_moves_modified_and_keeps_the_id(
    client: TestClient, owner: Publisher, recorder: Recorder
) -> None:
    first = create(client, owner)
    osv_id = first["id"]
    answer = client.put(
        f"/api/v1/advisories/{osv_id}",
        json=draft_body(
            f"{owner.namespace.name}/lib",
            events=[{"introduced": "1.1.0"}, {"fixed": "1.2.0"}],
            mitigation={"switch_to": "other/lib"},
        ),
        headers=bearer(owner.token),
    )
    assert answer.status_code == 200, answer.text
    record = answer.json()["record"]
    assert record["id"] == osv_id
    assert not is_affected(record, "1.0.0") and is_affected(record, "1.1.0")
    assert record["database_specific"]["mitigation"] == {"switch_to": "other/lib"}


BAD_VECTOR = [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:X"}]
BAD_VERSION = [{"introduced": "0"}, {"fixed": "v1.2"}]
BOTH_ENDS = [{"introduced": "0"}, {"fixed": "1.1"}, {"last_affected": "1.0"}]
TWO_MITIGATIONS = {"upgrade_to": "1.2.0", "switch_to": "a/b"}


@pytest.mark.parametrize(
    ("fields", "code", "field_name"),
    [
        ({"severity": BAD_VECTOR}, "advisory-severity", "severity/0/score"),
        ({"events": BAD_VERSION}, "advisory-event-version", "events/1"),
        ({"events": [{"fixed": "1.2.0"}]}, "advisory-event", "events"),
        ({"mitigation": TWO_MITIGATIONS}, "advisory-mitigation", "mitigation"),
        ({"events": BOTH_ENDS}, "osv-schema", "affected/0/ranges/0"),
    ],
)
def test_invalid_advisories_are_refused_saying_what_to_fix(
    client: TestClient, owner: Publisher, fields: dict[str, Any], code: str, field_name: str
) -> None:
    answer = client.post(
        "/api/v1/advisories",
        json=draft_body(f"{owner.namespace.name}/lib", **fields),
        headers=bearer(owner.token),
    )
    assert answer.status_code == 400, answer.text
    problems = answer.json()["errors"]
    assert (problems[0]["code"], problems[0]["field"]) == (code, field_name)


def test_unknown_packages_are_404(client: TestClient, owner: Publisher) -> None:
    answer = client.post(
        "/api/v1/advisories",
        json=draft_body(f"{owner.namespace.name}/nothing"),
        headers=bearer(owner.token),
    )
    assert answer.status_code == 404


def test_publishing_notifies_members_and_security_reporters(
    client: TestClient, session: Session, owner: Publisher
) -> None:
    reporter = make_publisher(session).user
    spammer = make_publisher(session).user
    lib = session.scalar(select(Package).where(Package.namespace_id == owner.namespace.id))
    assert lib is not None
    now = SystemClock().now()
    for user, category in ((reporter, "security"), (spammer, "spam")):
        session.add(
            Report(
                reporter_id=user.id,
                package_id=lib.id,
                subject=f"{owner.namespace.name}/lib",
                category=category,
                message="see advisory",
                created_at=now,
            )
        )
    session.commit()
    osv_id = create(client, owner)["id"]
    client.post(f"/api/v1/advisories/{osv_id}/publish", headers=bearer(owner.token))
    told = set(
        session.scalars(
            select(Notification.user_id).where(Notification.kind == "advisory.published")
        )
    )
    assert told == {owner.user.id, reporter.id}
