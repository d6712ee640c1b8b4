"""API tokens: when they are refused, how they are stored; and the namespace rules.

Refusals are checked over both publish endpoints, as an uploader meets them: the
status, a message that says what is wrong with the token, and nothing published.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from fpmreg.server.accounts.models import ApiToken, Role, Scope
from fpmreg.server.accounts.service import AccountsService
from fpmreg.server.app import create_app
from fpmreg.server.db import Database
from fpmreg.server.errors import Conflict, Forbidden, InvalidInput
from fpmreg.server.events import Event
from fpmreg.server.settings import Settings
from fpmreg.server.storage import BlobStore
from tests.factories import make_publisher, make_user, unique
from tests.support.tarballs import fpm_publish_form, package_tarball

ENDPOINTS = ("fpm", "api")
# `secrets.token_urlsafe` and the prefix: what survives fpm's unquoted `curl -F`.
TOKEN_ALPHABET = re.compile(r"^[A-Za-z0-9_-]+$")


class MovableClock:
    """A clock the test moves forward; the app and the services read the same one."""

    def __init__(self) -> None:
        self.at = datetime.now(UTC).replace(microsecond=0)

    def now(self) -> datetime:
        return self.at

    def advance(self, **delta: float) -> None:
        self.at += timedelta(**delta)


@pytest.fixture(params=ENDPOINTS)
def endpoint(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock()


@pytest.fixture
def accounts(session: Session, clock: MovableClock) -> AccountsService:
    return AccountsService(session, clock)


@pytest.fixture
def timed_client(
    settings: Settings, engine: Engine, sessions: sessionmaker[Session], clock: MovableClock
) -> Iterator[TestClient]:
    """The real app, reading time from `clock`."""
    app = create_app(settings, database=Database(engine, sessions), clock=clock)
    with TestClient(app) as client:
        yield client


def upload(
    endpoint: str,
    client: TestClient,
    token: str,
    name: str = "hello",
    data: bytes | None = None,
    version: str = "1.0.0",
) -> httpx.Response:
    """Publish `name` through one endpoint, as fpm or an API client would."""
    data = data if data is not None else package_tarball(name, version)
    if endpoint == "fpm":
        return client.post(
            "/packages",
            **fpm_publish_form(name, version, "MIT", token, data),
        )
    return client.post(
        "/api/v1/packages",
        files={"tarball": ("t.tar.gz", data)},
        headers={"Authorization": f"Bearer {token}"},
    )


def message_of(response: httpx.Response, endpoint: str) -> str:
    """The text the uploader sees, from either envelope."""
    if endpoint == "fpm":
        body = response.json()
        assert body["code"] == response.status_code
        return str(body["message"])
    return " ".join(e["detail"] for e in response.json()["errors"])


def codes_of(response: httpx.Response, endpoint: str) -> list[str]:
    return [e["code"] for e in response.json()["errors"]] if endpoint == "api" else []


def assert_refused(
    response: httpx.Response, endpoint: str, status: int, code: str, *fragments: str
) -> None:
    assert response.status_code == status, response.text
    message = message_of(response, endpoint)
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"
    if endpoint == "api":
        assert codes_of(response, endpoint) == [code]


def assert_not_published(
    client: TestClient, store: BlobStore, namespace: str, name: str = "hello"
) -> None:
    assert client.get(f"/api/v1/packages/{namespace}/{name}").status_code == 404
    assert [p for p in (store.root / "sha256").glob("**/*") if p.is_file()] == []
    assert list((store.root / "tmp").iterdir()) == []


def published(response: httpx.Response) -> bool:
    return response.status_code in (200, 201) and "errors" not in response.json()


# Refusals -----------------------------------------------------------------------------


def test_unknown_token_is_refused(
    client: TestClient, session: Session, store: BlobStore, endpoint: str
) -> None:
    publisher = make_publisher(session)
    session.commit()
    forged = "fpmreg_" + "A" * 43
    response = upload(endpoint, client, forged)
    assert_refused(
        response, endpoint, 401, "token-invalid", "token is not valid", "create a new one"
    )
    assert_not_published(client, store, publisher.namespace.name)


def test_missing_token_is_refused(client: TestClient, store: BlobStore, endpoint: str) -> None:
    response = upload(endpoint, client, "")
    assert_refused(response, endpoint, 401, "token-missing", "No token provided")


def test_stored_hash_does_not_work_as_a_token(
    client: TestClient, session: Session, store: BlobStore, endpoint: str
) -> None:
    """Someone who reads the database learns nothing they can publish with."""
    publisher = make_publisher(session)
    session.commit()
    stored = session.scalars(select(ApiToken.token_hash)).all()
    assert stored
    for token_hash in stored:
        response = upload(endpoint, client, token_hash)
        assert_refused(response, endpoint, 401, "token-invalid", "token is not valid")
    assert_not_published(client, store, publisher.namespace.name)


def test_revoked_token_is_refused(
    client: TestClient, session: Session, store: BlobStore, endpoint: str
) -> None:
    accounts = AccountsService(session, MovableClock())
    user = make_user(session)
    namespace = accounts.create_namespace(user, unique("ns"))
    secret, row = accounts.create_token(
        user, name="ci", scopes={Scope.PUBLISH}, namespace=namespace.name
    )
    accounts.revoke_token(user, row.id)
    session.commit()
    response = upload(endpoint, client, secret)
    assert_refused(response, endpoint, 401, "token-revoked", "token `ci` was revoked")
    assert_not_published(client, store, namespace.name)


def test_token_works_until_it_expires_then_is_refused(
    timed_client: TestClient,
    session: Session,
    accounts: AccountsService,
    clock: MovableClock,
    store: BlobStore,
    endpoint: str,
) -> None:
    user = make_user(session)
    namespace = accounts.create_namespace(user, unique("ns"))
    secret, row = accounts.create_token(
        user, name="ci", scopes={Scope.PUBLISH}, namespace=namespace.name, days=1
    )
    session.commit()
    clock.advance(hours=23, minutes=59)
    assert published(upload(endpoint, timed_client, secret, "early"))

    clock.advance(minutes=1)
    response = upload(endpoint, timed_client, secret)
    expiry = f"{row.expires_at:%Y-%m-%d}"
    assert_refused(
        response,
        endpoint,
        401,
        "token-expired",
        f"token `ci` expired on {expiry}",
        "create a new one",
    )
    assert timed_client.get(f"/api/v1/packages/{namespace.name}/hello").status_code == 404


def test_token_without_publish_scope_is_refused(
    client: TestClient, session: Session, store: BlobStore, endpoint: str
) -> None:
    publisher = make_publisher(session, scopes={Scope.YANK})
    session.commit()
    response = upload(endpoint, client, publisher.token)
    assert_refused(response, endpoint, 403, "token-scope", "does not have the `publish` scope")
    assert_not_published(client, store, publisher.namespace.name)


def test_package_scoped_token_publishes_only_its_package(
    client: TestClient, session: Session, store: BlobStore, endpoint: str
) -> None:
    publisher = make_publisher(session, package="hello")
    session.commit()
    ns = publisher.namespace.name
    response = upload(endpoint, client, publisher.token, "other")
    assert_refused(
        response, endpoint, 403, "token-package", f"limited to package `{ns}/hello`, not `other`"
    )
    assert_not_published(client, store, ns, "other")

    assert published(upload(endpoint, client, publisher.token, "hello"))
    assert client.get(f"/api/v1/packages/{ns}/hello").status_code == 200


@pytest.mark.parametrize("endpoint", ["fpm", "api"])
def test_package_scoped_token_is_told_what_is_wrong_with_an_unreadable_tarball(
    client: TestClient, session: Session, store: BlobStore, endpoint: str
) -> None:
    publisher = make_publisher(session, package="hello")
    session.commit()
    response = upload(endpoint, client, publisher.token, "hello", data=b"not a gzip file")
    assert response.status_code == 400, response.text
    assert "not gzip-compressed" in message_of(response, endpoint)
    assert_not_published(client, store, publisher.namespace.name)


def test_token_of_a_removed_member_is_refused(
    client: TestClient,
    session: Session,
    accounts: AccountsService,
    store: BlobStore,
    endpoint: str,
) -> None:
    admin = make_user(session)
    namespace = accounts.create_namespace(admin, unique("ns"))
    member = make_user(session)
    accounts.add_member(admin, namespace, member.username, Role.MAINTAINER)
    secret, _ = accounts.create_token(
        member, name="ci", scopes={Scope.PUBLISH}, namespace=namespace.name
    )
    session.commit()
    assert published(upload(endpoint, client, secret, "early"))

    accounts.remove_member(admin, namespace, member.username)
    session.commit()
    response = upload(endpoint, client, secret)
    assert_refused(
        response, endpoint, 403, "token-not-member", f"no longer a member of `{namespace.name}`"
    )
    assert client.get(f"/api/v1/packages/{namespace.name}/hello").status_code == 404


def test_api_wants_a_bearer_token(client: TestClient, session: Session) -> None:
    publisher = make_publisher(session)
    session.commit()
    response = client.post(
        "/api/v1/packages",
        files={"tarball": ("t", package_tarball("hello"))},
        headers={"Authorization": f"Token {publisher.token}"},
    )
    assert response.status_code == 401
    errors = response.json()["errors"]
    assert [e["code"] for e in errors] == ["authorization-scheme"]
    assert "Authorization: Bearer" in errors[0]["detail"]


# Storage and use ----------------------------------------------------------------------


def test_token_is_stored_only_as_its_sha256(
    client: TestClient, session: Session, accounts: AccountsService
) -> None:
    user = make_user(session)
    namespace = accounts.create_namespace(user, unique("ns"))
    secret, row = accounts.create_token(
        user, name="ci", scopes={Scope.PUBLISH}, namespace=namespace.name
    )
    session.commit()
    assert published(upload("fpm", client, secret))

    stored = session.execute(
        select(ApiToken.__table__).where(ApiToken.__table__.c.id == row.id)
    ).one()
    assert stored.token_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert all(secret not in str(value) for value in stored)
    events = session.execute(select(Event.__table__)).all()
    assert events and all(secret not in str(value) for event in events for value in event)


def test_last_used_at_is_set_by_a_successful_publish(
    timed_client: TestClient, session: Session, accounts: AccountsService, clock: MovableClock
) -> None:
    user = make_user(session)
    namespace = accounts.create_namespace(user, unique("ns"))
    secret, row = accounts.create_token(
        user, name="ci", scopes={Scope.PUBLISH}, namespace=namespace.name
    )
    session.commit()

    def last_used() -> datetime | None:
        return session.scalar(select(ApiToken.last_used_at).where(ApiToken.id == row.id))

    assert last_used() is None
    clock.advance(hours=5)
    assert published(upload("fpm", timed_client, secret))
    assert last_used() == clock.now()


def test_tokens_use_only_characters_safe_on_a_command_line(
    session: Session, accounts: AccountsService
) -> None:
    user = make_user(session)
    namespace = accounts.create_namespace(user, unique("ns"))
    secrets = [
        accounts.create_token(user, name=f"t{i}", scopes={Scope.PUBLISH}, namespace=namespace.name)[
            0
        ]
        for i in range(40)
    ]
    assert len(set(secrets)) == len(secrets)
    for secret in secrets:
        assert TOKEN_ALPHABET.match(secret), secret
        assert len(secret) >= 40


# Namespace rules ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["1abc", "-abc", "my ns", "ns.dot", "ns/x", "ns__x", "ns_", "", "a" * 64, "naïve"]
)
def test_namespace_name_follows_the_name_rule(
    session: Session, accounts: AccountsService, name: str
) -> None:
    user = make_user(session)
    with pytest.raises(InvalidInput) as refused:
        accounts.create_namespace(user, name)
    assert f"namespace name `{name}`" in refused.value.detail
    assert accounts.namespace_by_name(name) is None


@pytest.mark.parametrize("name", ["a", "my-ns", "My_NS2", "x" * 63])
def test_namespace_name_within_the_rule_is_accepted(
    session: Session, accounts: AccountsService, name: str
) -> None:
    namespace = accounts.create_namespace(make_user(session), name)
    assert namespace.name == name
    assert accounts.get_namespace(name).id == namespace.id


def test_namespace_names_are_unique_ignoring_case_dash_and_underscore(
    session: Session, accounts: AccountsService
) -> None:
    base = unique("fortran_lib")
    accounts.create_namespace(make_user(session), base)
    other = make_user(session)
    for variant in [base, base.upper(), base.replace("_", "-"), base.title().replace("_", "-")]:
        with pytest.raises(Conflict, match=f"the namespace `{re.escape(variant)}` is taken"):
            accounts.create_namespace(other, variant)
    assert accounts.namespaces_of(other) == []


def test_last_admin_cannot_leave_or_be_demoted(session: Session, accounts: AccountsService) -> None:
    admin = make_user(session)
    namespace = accounts.create_namespace(admin, unique("ns"))
    with pytest.raises(Conflict, match="last admin"):
        accounts.remove_member(admin, namespace, admin.username)
    with pytest.raises(Conflict, match="last admin"):
        accounts.add_member(admin, namespace, admin.username, Role.MAINTAINER)
    assert accounts.role_of(admin, namespace) is Role.ADMIN

    successor = make_user(session)
    accounts.add_member(admin, namespace, successor.username, Role.ADMIN)
    accounts.remove_member(admin, namespace, admin.username)
    session.flush()
    assert accounts.role_of(admin, namespace) is None
    assert [m.user.username for m in accounts.members(namespace)] == [successor.username]


def test_maintainer_cannot_manage_members(session: Session, accounts: AccountsService) -> None:
    admin = make_user(session)
    namespace = accounts.create_namespace(admin, unique("ns"))
    maintainer = make_user(session)
    outsider = make_user(session)
    accounts.add_member(admin, namespace, maintainer.username, Role.MAINTAINER)
    with pytest.raises(Forbidden, match=f"only admins of `{namespace.name}`"):
        accounts.add_member(maintainer, namespace, outsider.username, Role.MAINTAINER)
    with pytest.raises(Forbidden, match=f"only admins of `{namespace.name}`"):
        accounts.add_member(maintainer, namespace, maintainer.username, Role.ADMIN)
    with pytest.raises(Forbidden, match=f"only admins of `{namespace.name}`"):
        accounts.remove_member(maintainer, namespace, admin.username)
    session.flush()
    assert accounts.role_of(outsider, namespace) is None
    assert accounts.role_of(maintainer, namespace) is Role.MAINTAINER
    assert accounts.role_of(admin, namespace) is Role.ADMIN
