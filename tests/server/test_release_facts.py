"""`GET /api/v1/packages/{ns}/{name}/{version}/facts`: what the registry attests about a
release, for policies' `requiresFacts` (docs/vetting.md, "Facts the registry attests")."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from fpmreg.core.wire.expectations import ExpectationsRequest
from fpmreg.server.accounts.models import Namespace
from fpmreg.server.builds.models import Build, BuildOutcome
from fpmreg.server.clock import SystemClock
from fpmreg.server.packages.expectations import ExpectationsService
from fpmreg.server.packages.models import Package, Version
from fpmreg.server.storage import BlobStore
from tests.factories import make_publisher, publish


def _release(session: Session, ns: str) -> tuple[Package, Version]:
    """The stored `lib` 1.0.0 of namespace `ns`."""
    version = session.scalar(
        select(Version).join(Package).where(Package.name == "lib", Version.version == "1.0.0")
        .where(Package.namespace_id == select(Namespace.id).where(Namespace.name == ns)
               .scalar_subquery())
    )  # fmt: skip
    assert version is not None
    package = session.get(Package, version.package_id)
    assert package is not None
    return package, version


def _facts(client: TestClient, ns: str, version: str = "1.0.0") -> list[str]:
    answer = client.get(f"/api/v1/packages/{ns}/lib/{version}/facts")
    assert answer.status_code == 200, answer.text
    return [f["fact"] for f in answer.json()["facts"]]


def test_a_new_release_has_no_attested_fact(
    client: TestClient, session: Session, store: BlobStore
) -> None:
    owner = make_publisher(session)
    stored = publish(session, store, owner, "lib", "1.0.0")
    answer = client.get(f"/api/v1/packages/{owner.namespace.name}/lib/1.0.0/facts").json()
    assert answer == {
        "purl": f"pkg:fpm/{owner.namespace.name}/lib@1.0.0",
        "sha256": stored.sha256,
        "facts": [],
    }


def test_builds_two_factor_and_expectations_become_facts(
    client: TestClient, session: Session, store: BlobStore
) -> None:
    owner = make_publisher(session)
    publish(session, store, owner, "lib", "1.0.0")
    package, stored = _release(session, owner.namespace.name)
    clock = SystemClock()
    session.add(Build(version_id=stored.id, outcome=BuildOutcome.PASSED, queued_at=clock.now()))
    owner.namespace.require_2fa = True
    declared = ExpectationsRequest(status="active", response="yes", contact="sec@example.org")
    ExpectationsService(session, clock).declare(None, package, declared)
    session.commit()

    assert _facts(client, owner.namespace.name) == [
        "build-verified",
        "publisher-two-factor",
        "expectations-declared",
        "maintained",
        "security-response",
    ]


def test_a_hobby_package_with_a_failed_build_attests_only_its_declaration(
    client: TestClient, session: Session, store: BlobStore
) -> None:
    owner = make_publisher(session)
    publish(session, store, owner, "lib", "1.0.0")
    package, stored = _release(session, owner.namespace.name)
    clock = SystemClock()
    session.add(Build(version_id=stored.id, outcome=BuildOutcome.FAILED, queued_at=clock.now()))
    declared = ExpectationsRequest(status="hobby", response="no")
    ExpectationsService(session, clock).declare(None, package, declared)
    session.commit()

    assert _facts(client, owner.namespace.name) == ["expectations-declared"]


def test_an_unknown_version_is_a_404_envelope(
    client: TestClient, session: Session, store: BlobStore
) -> None:
    owner = make_publisher(session)
    publish(session, store, owner, "lib", "1.0.0")
    answer = client.get(f"/api/v1/packages/{owner.namespace.name}/lib/9.9.9/facts")
    assert answer.status_code == 404
    assert answer.json()["errors"][0]["code"] == "version-not-found"
