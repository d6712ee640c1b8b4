"""Package transfers need both admins; leaving a namespace keeps an admin."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from fpmreg.server.accounts.models import Scope
from fpmreg.server.storage import BlobStore
from tests.factories import make_publisher, publish


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_a_transfer_needs_both_admins(
    client: TestClient, session: Session, store: BlobStore
) -> None:
    source = make_publisher(session, scopes={Scope.PUBLISH, Scope.MANAGE})
    target = make_publisher(session, scopes={Scope.MANAGE})
    publish(session, store, source, "hello")
    session.commit()
    src, dst = source.namespace.name, target.namespace.name

    asked = client.post(
        f"/api/v1/packages/{src}/hello/transfers",
        json={"to_namespace": dst},
        headers=bearer(source.token),
    )
    assert asked.status_code == 201, asked.text
    transfer = asked.json()["id"]
    by_source = client.post(f"/api/v1/transfers/{transfer}/accept", headers=bearer(source.token))
    still_there = client.get(f"/api/v1/packages/{src}/hello")
    accepted = client.post(f"/api/v1/transfers/{transfer}/accept", headers=bearer(target.token))

    assert by_source.status_code == 403  # the source's admin cannot accept for the target
    assert still_there.status_code == 200
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["state"] == "completed"
    assert accepted.json()["from_namespace"] == src
    assert client.get(f"/api/v1/packages/{dst}/hello").status_code == 200
    assert client.get(f"/api/v1/packages/{src}/hello").status_code == 404


def test_a_transfer_is_refused_when_the_name_is_taken_and_can_be_cancelled(
    client: TestClient, session: Session, store: BlobStore
) -> None:
    source = make_publisher(session, scopes={Scope.PUBLISH, Scope.MANAGE})
    target = make_publisher(session, scopes={Scope.PUBLISH, Scope.MANAGE})
    publish(session, store, source, "hello")
    publish(session, store, source, "solo")
    publish(session, store, target, "hello")
    session.commit()
    src, dst = source.namespace.name, target.namespace.name

    taken = client.post(
        f"/api/v1/packages/{src}/hello/transfers",
        json={"to_namespace": dst},
        headers=bearer(source.token),
    )
    asked = client.post(
        f"/api/v1/packages/{src}/solo/transfers",
        json={"to_namespace": dst},
        headers=bearer(source.token),
    )
    cancelled = client.post(
        f"/api/v1/transfers/{asked.json()['id']}/cancel", headers=bearer(target.token)
    )
    late = client.post(
        f"/api/v1/transfers/{asked.json()['id']}/accept", headers=bearer(target.token)
    )

    assert taken.status_code == 409
    assert "already has a package `hello`" in taken.json()["errors"][0]["detail"]
    assert cancelled.json()["state"] == "cancelled"
    assert late.status_code == 409
    assert client.get(f"/api/v1/packages/{src}/solo").status_code == 200
