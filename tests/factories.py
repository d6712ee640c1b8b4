"""Factories: the one place tests make users, namespaces, tokens and versions."""

from __future__ import annotations

import io
import itertools
from dataclasses import dataclass

from sqlalchemy.orm import Session

from fpmreg.core.checks import UploadForm
from fpmreg.server.accounts.models import Namespace, Scope, User
from fpmreg.server.accounts.service import AccountsService
from fpmreg.server.clock import SystemClock
from fpmreg.server.packages.service import PackagesService, PublishResult
from fpmreg.server.storage import BlobStore
from tests.support.tarballs import package_tarball

PASSWORD = "correct horse battery"
_counter = itertools.count(1)


def unique(prefix: str) -> str:
    """A name no other test uses."""
    return f"{prefix}{next(_counter)}"


@dataclass
class Publisher:
    """A user with a namespace and a publish token for it."""

    user: User
    namespace: Namespace
    token: str


def make_user(session: Session, username: str | None = None, *, admin: bool = False) -> User:
    username = username or unique("user")
    return AccountsService(session, SystemClock()).create_user(
        username, f"{username}@example.org", PASSWORD, is_admin=admin, verified=True
    )


def make_publisher(
    session: Session,
    *,
    namespace: str | None = None,
    scopes: set[Scope] | None = None,
    package: str = "",
    days: int = 30,
) -> Publisher:
    accounts = AccountsService(session, SystemClock())
    user = make_user(session)
    ns = accounts.create_namespace(user, namespace or unique("ns"))
    token, _ = accounts.create_token(
        user,
        name="t",
        scopes=scopes or {Scope.PUBLISH},
        namespace=ns.name,
        package=package,
        days=days,
    )
    session.flush()
    return Publisher(user, ns, token)


def publish(
    session: Session,
    store: BlobStore,
    publisher: Publisher,
    name: str,
    version: str = "0.1.0",
    **kwargs: object,
) -> PublishResult:
    """Publish a version with the publisher's token, and commit it (as a request would)."""
    data = package_tarball(name, version, **kwargs)  # type: ignore[arg-type]
    service = PackagesService(session, SystemClock(), store)
    result = service.publish_version(
        AccountsService(session, SystemClock()),
        io.BytesIO(data),
        token=publisher.token,
        form=UploadForm(),
    )
    session.commit()
    return result
