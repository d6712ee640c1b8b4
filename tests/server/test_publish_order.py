"""A publish checks who is asking before it reads the archive (crates.io's order).

Small fields, then the token (scope, namespace), then the publisher's rate limit, and
only then the archive. A stranger cannot make the server unpack an upload, and cannot
use up a publisher's allowance with made-up tokens.
"""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from fpmreg.server.accounts.models import Role, Scope
from fpmreg.server.accounts.service import AccountsService
from fpmreg.server.app import create_app
from fpmreg.server.clock import SystemClock
from fpmreg.server.db import Database
from fpmreg.server.settings import Settings
from tests.factories import Publisher, make_publisher
from tests.support.live import LiveServer
from tests.support.tarballs import package_tarball

ENDPOINTS = ("fpm", "api")
SMALL_UPLOAD_LIMIT = 1024
PUBLISHES_PER_MINUTE = 2
# Not a gzip stream at all, and over the tarball limit (but not the request's): reading
# it would fail twice over.
CORRUPT_AND_TOO_BIG = b"this is not a gzip stream " * (2 * SMALL_UPLOAD_LIMIT // 26)


def send(
    client: TestClient, endpoint: str, token: str, data: bytes, *, dry_run: bool = False
) -> httpx.Response:
    """Publish through fpm's form or the JSON API."""
    files = {"tarball": ("hello.tar.gz", data, "application/gzip")}
    if endpoint == "fpm":
        fields = {
            "package_name": "hello",
            "package_version": "1.0.0",
            "package_license": "MIT",
            "upload_token": token,
        }
        if dry_run:
            fields["dry_run"] = "true"
        return client.post("/packages", data=fields, files=files)
    return client.post(
        "/api/v1/packages",
        files=files,
        data={"dry_run": "true"} if dry_run else None,
        headers={"Authorization": f"Bearer {token}"},
    )


def problems(response: httpx.Response, endpoint: str) -> str:
    """Everything the refusal says."""
    body = response.json()
    if endpoint == "fpm":
        return str(body["message"])
    return " ".join(f"[{e['code']}] {e['detail']}" for e in body["errors"])


@pytest.fixture(params=ENDPOINTS)
def endpoint(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def limited_client(
    settings: Settings, engine: Engine, sessions: sessionmaker[Session]
) -> Iterator[TestClient]:
    """The real app with a 1 KiB upload limit and 2 publishes a minute."""
    limited = settings.model_copy(
        update={
            "max_upload_bytes": SMALL_UPLOAD_LIMIT,
            "publishes_per_minute": PUBLISHES_PER_MINUTE,
        }
    )
    with TestClient(create_app(limited, database=Database(engine, sessions))) as client:
        yield client


@pytest.fixture
def publisher(session: Session) -> Publisher:
    publisher = make_publisher(session)
    session.commit()
    return publisher


def _token(session: Session, publisher: Publisher, name: str, scopes: set[Scope]) -> str:
    secret, _ = AccountsService(session, SystemClock()).create_token(
        publisher.user, name=name, scopes=scopes, namespace=publisher.namespace.name
    )
    session.commit()
    return secret


def _not_member_token(session: Session, publisher: Publisher) -> str:
    """A publish token whose owner has since left the namespace."""
    accounts = AccountsService(session, SystemClock())
    other = make_publisher(session)
    accounts.add_member(other.user, other.namespace, publisher.user.username, Role.MAINTAINER)
    secret, _ = accounts.create_token(
        publisher.user, name="left", scopes={Scope.PUBLISH}, namespace=other.namespace.name
    )
    accounts.remove_member(other.user, other.namespace, publisher.user.username)
    session.commit()
    return secret


@pytest.mark.parametrize("case", ["no-token", "bad-token", "yank-scope", "not-member"])
def test_an_upload_without_a_valid_token_is_answered_only_with_the_token_problem(
    limited_client: TestClient, session: Session, publisher: Publisher, endpoint: str, case: str
) -> None:
    """The archive is never looked at: neither its corruption nor its size is reported."""
    token = {
        "no-token": lambda: "",
        "bad-token": lambda: "fpmreg_" + "x" * 43,
        "yank-scope": lambda: _token(session, publisher, "yank-only", {Scope.YANK}),
        "not-member": lambda: _not_member_token(session, publisher),
    }[case]()
    response = send(limited_client, endpoint, token, CORRUPT_AND_TOO_BIG)
    said = problems(response, endpoint)
    expected = {
        "no-token": (401, "No token provided"),
        "bad-token": (401, "the token is not valid"),
        "yank-scope": (403, "does not have the `publish` scope"),
        "not-member": (403, "is no longer a member"),
    }[case]
    assert response.status_code == expected[0], said
    assert expected[1] in said
    for about_the_archive in ("gzip", "tar", "larger than", "archive", "fpm.toml"):
        assert about_the_archive not in said.lower(), said


def test_tokens_of_one_publisher_share_one_rate_limit(
    limited_client: TestClient, session: Session, publisher: Publisher, endpoint: str
) -> None:
    """The limit counts the publisher, not the token string: a second token is no way
    around it."""
    second = _token(session, publisher, "second", {Scope.PUBLISH})
    data = package_tarball("hello", "1.0.0")
    for _ in range(PUBLISHES_PER_MINUTE):
        ok = send(limited_client, endpoint, publisher.token, data, dry_run=True)
        assert ok.status_code == 200, ok.text
    refused = send(limited_client, endpoint, second, data, dry_run=True)
    assert refused.status_code == 429, refused.text
    assert "too many publishes" in problems(refused, endpoint)


def test_made_up_tokens_do_not_use_up_a_publishers_allowance(
    limited_client: TestClient, publisher: Publisher, endpoint: str
) -> None:
    """Strings that start like a publisher's token are refused as invalid and are not
    counted against that publisher."""
    data = package_tarball("hello", "1.0.0")
    for n in range(PUBLISHES_PER_MINUTE + 2):
        forged = publisher.token[:16] + f"forged{n}"
        response = send(limited_client, endpoint, forged, data, dry_run=True)
        # Refused as invalid (or, past a limit of their own, as too many): never counted
        # as the publisher's.
        assert response.status_code in (401, 429), response.text
    mine = send(limited_client, endpoint, publisher.token, data, dry_run=True)
    assert mine.status_code == 200, mine.text


def test_api_upload_with_a_bad_token_is_refused_without_waiting_for_the_body(
    live_server: LiveServer,
) -> None:
    """Headers announce 5 MB that never come: the 401 arrives all the same."""
    with socket.create_connection(("127.0.0.1", live_server.port), timeout=30) as sock:
        sock.sendall(
            (
                "POST /api/v1/packages HTTP/1.1\r\n"
                f"Host: 127.0.0.1:{live_server.port}\r\n"
                "Authorization: Bearer fpmreg_not-a-real-token\r\n"
                "Content-Type: multipart/form-data; boundary=xyz\r\n"
                f"Content-Length: {5 * 1024 * 1024}\r\n\r\n"
            ).encode()
        )
        try:
            answer = read_response(sock)
        except TimeoutError:
            pytest.fail("the server waited for a body it does not need")
    status_line, _, rest = answer.partition("\r\n")
    assert status_line.split()[1] == "401", answer
    assert "token-invalid" in rest


def read_response(sock: socket.socket) -> str:
    """One HTTP response with a Content-Length, as text."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, f"connection closed after {data!r}"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = int(re.search(rb"(?i)content-length: *(\d+)", head).group(1))  # type: ignore[union-attr]
    while len(body) < length:
        chunk = sock.recv(65536)
        assert chunk, "connection closed mid-body"
        body += chunk
    return (head + b"\r\n\r\n" + body).decode("latin-1")
