"""Quarantine: under review, a package is uninstallable, unlisted and frozen."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from fpmreg.server.clock import SystemClock
from fpmreg.server.events import Event
from fpmreg.server.moderation.quarantine import QuarantineService
from fpmreg.server.packages.service import PackagesService
from fpmreg.server.storage import BlobStore
from tests.factories import make_moderator, make_owner_token, make_publisher, publish
from tests.support.tarballs import package_tarball

REVIEW = {"reason": "two reports of a post-install script", "category": "malware"}


def test_a_quarantined_package_is_uninstallable_unlisted_and_frozen(
    client: TestClient, session: Session, store: BlobStore
) -> None:
    owner = make_publisher(session)
    ns = owner.namespace.name
    publish(session, store, owner, "lib", "1.0.0")
    moderator = make_moderator(session)
    answer = client.put(
        f"/api/v1/packages/{ns}/lib/quarantine",
        json=REVIEW,
        headers={"Authorization": f"Bearer {moderator.token}"},
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["quarantined"] is True

    fpm = client.get(f"/packages/{ns}/lib")
    assert fpm.status_code == 403
    assert fpm.json()["code"] == 403
    assert "under review by the registry's moderators" in fpm.json()["message"]
    assert client.get(f"/packages/{ns}/lib/1.0.0").json()["code"] == 403
    assert client.get(f"/tarballs/{ns}/lib/1.0.0.tar.gz").status_code == 403
    index = client.get(f"/api/v1/index/{ns}/lib")
    assert index.json()["errors"][0]["code"] == "package-quarantined"
    assert f"/project/{ns}/lib" not in client.get("/search", params={"q": ns}).text
    assert f"/project/{ns}/lib" not in client.get(f"/namespace/{ns}").text
    assert client.get(f"/api/v1/packages?q={ns}").json()["packages"] == []
    assert client.get(f"/project/{ns}/lib").status_code == 404  # for strangers

    again = client.post(
        "/api/v1/packages",
        files={"tarball": ("lib.tar.gz", package_tarball("lib", "1.1.0"), "application/gzip")},
        headers={"Authorization": f"Bearer {owner.token}"},
    )
    assert again.status_code == 403
    assert again.json()["errors"][0]["code"] == "package-quarantined"

    event = session.scalar(select(Event).where(Event.action == "package.quarantine"))
    assert event is not None and event.category == "malware" and event.actor_id is not None

    released = client.request(
        "DELETE",
        f"/api/v1/packages/{ns}/lib/quarantine",
        json={"reason": "false alarm"},
        headers={"Authorization": f"Bearer {moderator.token}"},
    )
    assert released.json()["quarantined"] is False
    assert client.get(f"/packages/{ns}/lib").json()["code"] == 200


def test_owners_cannot_quarantine_and_the_automatic_rule_has_no_actor(
    client: TestClient, session: Session, store: BlobStore
) -> None:
    owner = make_publisher(session)
    ns = owner.namespace.name
    publish(session, store, owner, "lib", "1.0.0")
    refused = client.put(
        f"/api/v1/packages/{ns}/lib/quarantine",
        json=REVIEW,
        headers={"Authorization": f"Bearer {make_owner_token(session, owner)}"},
    )
    assert refused.status_code == 403
    assert refused.json()["errors"][0]["code"] == "not-permitted"

    packages = PackagesService(session, SystemClock(), store)
    QuarantineService(session, SystemClock(), packages).quarantine(
        None, ns, "lib", reason="automatic: two trusted malware reports", category="malware"
    )
    session.commit()
    event = session.scalar(select(Event).where(Event.action == "package.quarantine"))
    assert event is not None and event.actor_id is None and event.data["automatic"] is True
    assert client.get(f"/packages/{ns}/lib").json()["code"] == 403


def test_a_release_counts_on_the_transparency_page_in_the_quarantines_category(
    client: TestClient, session: Session, store: BlobStore
) -> None:
    owner = make_publisher(session)
    ns = owner.namespace.name
    publish(session, store, owner, "lib", "1.0.0")
    before = {
        r["action"]: r["count"] for r in client.get("/api/v1/transparency").json()["by_action"]
    }
    service = QuarantineService(
        session, SystemClock(), PackagesService(session, SystemClock(), store)
    )
    service.quarantine(None, ns, "lib", reason="automatic: malware reports", category="malware")
    service.release(None, ns, "lib", reason="the reports were wrong")
    session.commit()

    after = {
        r["action"]: r["count"] for r in client.get("/api/v1/transparency").json()["by_action"]
    }
    assert after["release"] - before.get("release", 0) == 1
    released = session.scalar(
        select(Event).where(Event.action == "package.release").order_by(Event.id.desc())
    )
    assert released is not None and released.category == "malware"
    assert client.get(f"/packages/{ns}/lib").json()["code"] == 200
