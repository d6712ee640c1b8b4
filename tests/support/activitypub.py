"""A remote ActivityPub actor served on loopback, and signed requests from it, for the
tests of the registry's federation (tests/server/test_activitypub*.py)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey, generate_private_key
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    PublicFormat,
    load_pem_public_key,
)

from fpmreg.core.httpsig import REQUIRED_WITH_BODY, digest, parse_signature, sign, verify
from fpmreg.core.httpsig9421 import Message, parse_signatures
from fpmreg.core.httpsig9421 import verify as verify9421
from tests.support.databases import fresh_database
from tests.support.live import LiveServer, free_port
from tests.support.tarballs import package_tarball

KEY = generate_private_key(65537, 2048)


class Remote:
    """A remote actor: its document, its key, and what its inbox received."""

    def __init__(self) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.actor = f"{self.base}/actor"
        self.key_id = f"{self.actor}#main-key"
        self.received: list[tuple[dict[str, str], bytes]] = []
        pem = KEY.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
        self.document = {
            "@context": "https://www.w3.org/ns/activitystreams", "id": self.actor,
            "type": "Person", "preferredUsername": "remote", "inbox": f"{self.base}/inbox",
            "publicKey": {"id": f"{self.actor}#main-key", "owner": self.actor,
                          "publicKeyPem": pem.decode()},
        }  # fmt: skip

    def handler(self) -> type[BaseHTTPRequestHandler]:
        remote = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = json.dumps(remote.document).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/activity+json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                remote.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(202)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *_args: Any) -> None:
                pass

        return Handler

    def wait_for(self, count: int, seconds: float = 30) -> list[dict[str, Any]]:
        """The activities received once there are `count` of them (or the time is up)."""
        deadline = time.monotonic() + seconds
        while len(self.received) < count and time.monotonic() < deadline:
            time.sleep(0.2)
        return [json.loads(body) for _, body in self.received]


@contextmanager
def serve_remote() -> Iterator[Remote]:
    actor = Remote()
    server = ThreadingHTTPServer(("127.0.0.1", actor.port), actor.handler())
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield actor
    finally:
        server.shutdown()


def live_registry(tmp_path: Path, name: str, **env: str) -> Iterator[LiveServer]:
    """A live registry with `alpha/lib` 1.0.0 published."""
    (tmp_path / name).mkdir()
    workdir = tmp_path / name
    with fresh_database(workdir) as url, LiveServer(url, workdir, env=env) as s:
        token = s.publisher_token("alpha")
        answer = httpx.post(
            s.url + "/api/v1/packages",
            headers={"Authorization": f"Bearer {token}"},
            files={"tarball": ("t.tar.gz", package_tarball("lib", "1.0.0"))},
        )
        assert answer.status_code == 201, answer.text
        yield s


def signed_post(
    url: str, activity: dict[str, Any], key_id: str, when: datetime | None = None
) -> httpx.Response:
    body = json.dumps(activity).encode()
    parts = urlsplit(url)
    headers = {
        "Host": parts.netloc,
        "Date": format_datetime(when or datetime.now(UTC), usegmt=True),
        "Digest": digest(body),
        "Content-Type": "application/activity+json",
    }
    headers["Signature"] = sign(KEY, key_id, "POST", parts.path, headers, REQUIRED_WITH_BODY)
    return httpx.post(url, content=body, headers=headers, timeout=30)


def follow_activity(remote: Remote, target: str) -> dict[str, Any]:
    return {"@context": "https://www.w3.org/ns/activitystreams", "type": "Follow",
            "id": f"{remote.actor}#follows/{time.monotonic_ns()}", "actor": remote.actor,
            "object": target}  # fmt: skip


def check_delivery_signature(actor_url: str, headers: dict[str, str], path: str = "/inbox") -> None:
    """The delivery's signature verifies with the key `actor_url` publishes."""
    actor = httpx.get(actor_url, headers={"Accept": "application/activity+json"}).json()
    public = load_pem_public_key(actor["publicKey"]["publicKeyPem"].encode())
    assert isinstance(public, RSAPublicKey)
    if "signature-input" in headers:  # RFC 9421, what deliveries knock with first
        (signed,) = parse_signatures(headers["signature-input"], headers["signature"])
        assert signed.param("keyid") == f"{actor_url}#main-key"
        verify9421(public, Message("POST", f"http://{headers['host']}{path}", headers), signed)
        return
    parsed = parse_signature(headers["signature"])
    assert parsed.key_id == f"{actor_url}#main-key"
    verify(public, parsed, "POST", path, headers)


def moderator_token(server: LiveServer, username: str = "moderator") -> str:
    """A token of a user with the moderator site role, made straight in the database."""
    from fpmreg.server.accounts.models import SiteRole
    from fpmreg.server.accounts.service import AccountsService
    from fpmreg.server.clock import SystemClock
    from fpmreg.server.db import Database
    from fpmreg.server.moderation.roles import grant_role

    token = server.publisher_token(f"{username}-ns", username)
    database = Database.from_url(server.database_url)
    try:
        with database.session() as session:
            user = AccountsService(session, SystemClock()).user_by_name(username)
            assert user is not None
            grant_role(session, user, SiteRole.MODERATOR, at=SystemClock().now(), actor_id=None)
            session.commit()
    finally:
        database.engine.dispose()
    return token
