"""Package maintainers: added by namespace admins, they publish and yank one package."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from fpmreg.server.accounts.models import Scope
from fpmreg.server.accounts.service import AccountsService
from fpmreg.server.clock import SystemClock
from fpmreg.server.events import Event
from fpmreg.server.packages.maintainers import MaintainerView
from fpmreg.server.storage import BlobStore
from tests.factories import make_publisher, make_user, publish
from tests.support.tarballs import package_tarball


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def upload(client: TestClient, token: str, name: str, version: str) -> int:
    answer = client.post(
        "/api/v1/packages",
        files={"tarball": ("p.tar.gz", package_tarball(name, version), "application/gzip")},
        headers=bearer(token),
    )
    return answer.status_code


def test_a_maintainer_publishes_and_yanks_that_package_only(
    client: TestClient, session: Session, store: BlobStore
) -> None:
    admin = make_publisher(session, scopes={Scope.PUBLISH, Scope.MANAGE})
    publish(session, store, admin, "hello")
    publish(session, store, admin, "other")
    helper = make_user(session)
    session.commit()
    ns = admin.namespace.name
    url = f"/api/v1/packages/{ns}/hello/maintainers/{helper.username}"

    added = client.put(url, headers=bearer(admin.token))
    accounts = AccountsService(session, SystemClock(), packages=MaintainerView())
    secret, _ = accounts.create_token(
        helper, name="m", scopes={Scope.PUBLISH, Scope.YANK}, namespace=ns, package="hello"
    )
    session.commit()

    assert added.status_code == 200, added.text
    assert [m["username"] for m in added.json()["maintainers"]] == [helper.username]
    assert upload(client, secret, "hello", "0.2.0") == 201
    assert upload(client, secret, "other", "0.2.0") == 403
    actions = session.scalars(select(Event.action).where(Event.subject == f"package:{ns}/hello"))
    assert "maintainer.add" in list(actions)

    removed = client.delete(url, headers=bearer(admin.token))
    assert removed.status_code == 200
    assert removed.json()["maintainers"] == []
    assert upload(client, secret, "hello", "0.3.0") == 403


def test_a_maintainer_gets_no_namespace_wide_or_manage_token(session: Session) -> None:
    admin = make_publisher(session)
    helper = make_user(session)
    session.commit()
    accounts = AccountsService(session, SystemClock(), packages=MaintainerView())
    ns = admin.namespace.name
    for kwargs in ({"package": ""}, {"package": "hello"}):
        try:
            accounts.create_token(helper, name="x", scopes={Scope.PUBLISH}, namespace=ns, **kwargs)
        except Exception as exc:
            assert "not a member" in str(exc)
        else:
            raise AssertionError("a stranger got a token")


def test_only_admins_change_maintainers(
    client: TestClient, session: Session, store: BlobStore
) -> None:
    admin = make_publisher(session)
    publish(session, store, admin, "hello")
    outsider = make_publisher(session, scopes={Scope.MANAGE})
    session.commit()

    answer = client.put(
        f"/api/v1/packages/{admin.namespace.name}/hello/maintainers/{outsider.user.username}",
        headers=bearer(outsider.token),
    )

    assert answer.status_code == 403
    assert answer.json()["errors"][0]["code"] == "token-namespace"


def test_a_maintainer_yanks_that_package(
    client: TestClient, session: Session, store: BlobStore
) -> None:
    admin = make_publisher(session, scopes={Scope.PUBLISH, Scope.MANAGE})
    publish(session, store, admin, "hello")
    helper = make_user(session)
    session.commit()
    ns = admin.namespace.name
    client.put(
        f"/api/v1/packages/{ns}/hello/maintainers/{helper.username}", headers=bearer(admin.token)
    )
    accounts = AccountsService(session, SystemClock(), packages=MaintainerView())
    secret, _ = accounts.create_token(
        helper, name="m", scopes={Scope.YANK}, namespace=ns, package="hello"
    )
    session.commit()

    yank = client.put(
        f"/api/v1/packages/{ns}/hello/versions/0.1.0/yank",
        json={"reason": "broken"},
        headers=bearer(secret),
    )

    assert yank.status_code == 200, yank.text
