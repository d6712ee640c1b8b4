"""Deleting an account: a tombstone whose name is never registered again."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from fpmreg.server.accounts.leaving import Leaving
from fpmreg.server.accounts.models import Role, Scope, User
from fpmreg.server.accounts.service import AccountsService
from fpmreg.server.clock import SystemClock
from fpmreg.server.errors import Conflict, DomainError, Forbidden
from fpmreg.server.packages.maintainers import MaintainerView
from fpmreg.server.storage import BlobStore
from tests.factories import PASSWORD, make_publisher, make_user, publish


def accounts(session: Session) -> AccountsService:
    return AccountsService(session, SystemClock(), packages=MaintainerView())


def test_the_last_admin_of_a_namespace_with_packages_cannot_delete_the_account(
    session: Session, store: BlobStore
) -> None:
    pub = make_publisher(session)
    publish(session, store, pub, "hello")
    service = Leaving(accounts(session))

    with pytest.raises(Forbidden, match="password is wrong"):
        service.delete_account(pub.user, "not it at all")
    with pytest.raises(Conflict, match=r"last admin of .*transfer"):
        service.delete_account(pub.user, PASSWORD)
    with pytest.raises(Conflict, match="last admin"):
        service.leave_namespace(pub.user, pub.namespace)


def test_a_deleted_account_is_a_tombstone(
    client: TestClient, session: Session, store: BlobStore
) -> None:
    pub = make_publisher(session, scopes={Scope.PUBLISH})
    publish(session, store, pub, "hello")
    other = make_user(session)
    acc = accounts(session)
    acc.add_member(pub.user, pub.namespace, other.username, Role.ADMIN)
    name = pub.user.username

    Leaving(acc).delete_account(pub.user, PASSWORD)
    session.commit()

    user = session.get(User, pub.user.id)
    assert user is not None and user.deleted_at is not None
    assert user.email == "" and user.email_canonical == f"deleted-{user.id}"
    assert client.get(f"/api/v1/packages/{pub.namespace.name}/hello").status_code == 200
    refused = client.get("/api/v1/whoami", headers={"Authorization": f"Bearer {pub.token}"})
    assert refused.status_code == 401
    with pytest.raises(DomainError, match="wrong username or password"):
        acc.authenticate(name, PASSWORD)
    with pytest.raises(Conflict, match="is taken"):
        acc.create_user(name.upper(), "new@example.org", PASSWORD)
    # the address is free again
    acc.create_user(name + "x2", f"{name}@example.org", PASSWORD)


def test_leaving_a_namespace(session: Session) -> None:
    pub = make_publisher(session)
    member = make_user(session)
    acc = accounts(session)
    acc.add_member(pub.user, pub.namespace, member.username, Role.MAINTAINER)

    Leaving(acc).leave_namespace(member, pub.namespace)

    assert acc.role_of(member, pub.namespace) is None
