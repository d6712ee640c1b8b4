"""RFC 9421 message signatures between a live registry and remote actors on loopback:
Follows signed with RSA and Ed25519 keys are accepted, bad, missing, replayed, stale and
expired signatures and wrong Content-Digests are refused, and deliveries knock twice:
RFC 9421 first, draft-cavage to an inbox that refuses it, remembered for the next time."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey, generate_private_key
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    PublicFormat,
    load_pem_public_key,
)

from fpmreg.core.httpsig import parse_signature
from fpmreg.core.httpsig import verify as verify_cavage
from fpmreg.core.httpsig9421 import Message, content_digest, parse_signatures, sign, verify
from fpmreg.core.integrity import multikey
from fpmreg.server.federation.delivery import CAVAGE, RFC9421, Preferences
from tests.support.databases import fresh_database
from tests.support.live import LiveServer, free_port
from tests.support.tarballs import package_tarball

RSA = generate_private_key(65537, 2048)
ED = Ed25519PrivateKey.generate()
COVERED = ("@method", "@target-uri", "content-digest")


class Remote:
    """A remote actor with an RSA `publicKey` and an Ed25519 `assertionMethod`, whose
    inbox takes only the signature schemes in `accepts` (refusing others with 401) and
    records every attempt."""

    def __init__(self, accepts: set[str]) -> None:
        self.accepts = accepts
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.actor = f"{self.base}/actor"
        self.attempts: list[tuple[str, int, dict[str, str], bytes]] = []
        pem = RSA.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
        self.document = {
            "@context": "https://www.w3.org/ns/activitystreams", "id": self.actor,
            "type": "Person", "preferredUsername": "remote", "inbox": f"{self.base}/inbox",
            "publicKey": {"id": f"{self.actor}#main-key", "owner": self.actor,
                          "publicKeyPem": pem.decode()},
            "assertionMethod": [{"id": f"{self.actor}#ed25519-key", "type": "Multikey",
                                 "controller": self.actor,
                                 "publicKeyMultibase": multikey(ED.public_key())}],
        }  # fmt: skip

    def accepted(self) -> list[tuple[str, dict[str, str], bytes]]:
        return [(scheme, h, b) for scheme, status, h, b in self.attempts if status == 202]

    def handler(self) -> type[BaseHTTPRequestHandler]:
        remote = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self._answer(200, json.dumps(remote.document).encode())

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                headers = {k.lower(): v for k, v in self.headers.items()}
                scheme = "rfc9421" if "signature-input" in headers else "cavage"
                status = 202 if scheme in remote.accepts else 401
                remote.attempts.append((scheme, status, headers, body))
                self._answer(status, b"")

            def _answer(self, status: int, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/activity+json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_args: Any) -> None:
                pass

        return Handler


def _serve(accepts: set[str]) -> Iterator[Remote]:
    actor = Remote(accepts)
    server = ThreadingHTTPServer(("127.0.0.1", actor.port), actor.handler())
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield actor
    server.shutdown()


@pytest.fixture
def remote() -> Iterator[Remote]:
    yield from _serve({"rfc9421", "cavage"})


@pytest.fixture
def cavage_only() -> Iterator[Remote]:
    yield from _serve({"cavage"})


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[LiveServer]:
    env = {"FPMREG_FEDERATION_ALLOW_PRIVATE": "true"}
    with fresh_database(tmp_path) as url, LiveServer(url, tmp_path, env=env) as server:
        token = server.publisher_token("alpha")
        answer = httpx.post(
            server.url + "/api/v1/packages",
            headers={"Authorization": f"Bearer {token}"},
            files={"tarball": ("t.tar.gz", package_tarball("lib", "1.0.0"))},
        )
        assert answer.status_code == 201, answer.text
        yield server


def _headers(
    url: str, body: bytes, key_id: str, *, key: Any = RSA, covered: tuple[str, ...] = COVERED,
    created: datetime | None = None, **extra: object,
) -> dict[str, str]:  # fmt: skip
    headers = {"Content-Type": "application/activity+json", "Content-Digest": content_digest(body)}
    when = int((created or datetime.now(UTC)).timestamp())
    signature_input, signature = sign(
        key, Message("POST", url, headers), covered, keyid=key_id, created=when, params=extra
    )
    return {**headers, "Signature-Input": signature_input, "Signature": signature}


def _post(url: str, activity: dict[str, Any], key_id: str, **options: Any) -> httpx.Response:
    body = json.dumps(activity).encode()
    return httpx.post(url, content=body, headers=_headers(url, body, key_id, **options), timeout=30)


def _follow(remote: Remote, target: str) -> dict[str, Any]:
    return {"@context": "https://www.w3.org/ns/activitystreams", "type": "Follow",
            "id": f"{remote.actor}#follows/{time.monotonic_ns()}", "actor": remote.actor,
            "object": target}  # fmt: skip


def _wait(remote: Remote, accepted: int) -> None:
    deadline = time.monotonic() + 30
    while len(remote.accepted()) < accepted and time.monotonic() < deadline:
        time.sleep(0.2)
    assert len(remote.accepted()) >= accepted, f"only {remote.attempts} arrived"


def _registry_key(registry: LiveServer, actor: str) -> RSAPublicKey:
    document = httpx.get(actor).json()
    public = load_pem_public_key(document["publicKey"]["publicKeyPem"].encode())
    assert isinstance(public, RSAPublicKey)
    return public


@pytest.mark.parametrize(("key", "fragment"), [(RSA, "main-key"), (ED, "ed25519-key")])
def test_a_follow_signed_with_rfc9421_is_accepted_and_answered_with_rfc9421(
    registry: LiveServer, remote: Remote, key: Any, fragment: str
) -> None:
    package = registry.url + "/ap/packages/alpha/lib"
    follow = _follow(remote, package)

    answer = _post(package + "/inbox", follow, f"{remote.actor}#{fragment}", key=key)

    assert answer.status_code == 202, answer.text
    _wait(remote, 1)
    ((scheme, _status, headers, body),) = remote.attempts  # one knock was enough
    assert scheme == "rfc9421" and json.loads(body)["object"]["id"] == follow["id"]
    (signed,) = parse_signatures(headers["signature-input"], headers["signature"])
    assert signed.components == COVERED and signed.param("keyid") == f"{package}#main-key"
    message = Message("POST", f"{remote.base}/inbox", headers)
    verify(_registry_key(registry, package), message, signed, alg="rsa-v1_5-sha256")
    assert httpx.get(package + "/followers").json()["orderedItems"] == [remote.actor]


def test_bad_rfc9421_signatures_are_refused(registry: LiveServer, remote: Remote) -> None:
    inbox = registry.url + "/ap/inbox"
    key_id = f"{remote.actor}#main-key"

    def like(n: int) -> dict[str, Any]:
        return {"type": "Like", "actor": remote.actor, "object": "x", "n": n}

    first = _post(inbox, like(1), key_id)
    assert first.status_code == 202, first.text
    replay = httpx.post(inbox, content=first.request.content, headers=first.request.headers)
    assert replay.status_code == 401 and "replay" in replay.text

    refusals = {
        "does not match": _post(inbox, like(2), key_id, key=generate_private_key(65537, 2048)),
        "is more than 0:05:00": _post(inbox, like(3), key_id,
                                      created=datetime.now(UTC) - timedelta(hours=1)),
        "has expired": _post(inbox, like(4), key_id, expires=int(time.time()) - 1),
        "lacks @method": _post(inbox, like(5), key_id, covered=("@target-uri", "content-digest")),
        "lacks content-digest": _post(inbox, like(6), key_id, covered=("@method", "@target-uri")),
        "Ed25519 key does not sign": _post(inbox, like(7), f"{remote.actor}#ed25519-key",
                                           alg="rsa-v1_5-sha256"),
    }  # fmt: skip
    for message, answer in refusals.items():
        assert answer.status_code == 401, (message, answer.text)
        assert answer.json()["errors"][0]["code"] == "ap-signature-refused"
        assert message in answer.text, answer.text

    body = json.dumps(like(8)).encode()
    headers = _headers(inbox, body, key_id)
    missing = httpx.post(inbox, content=body, headers={**headers, "Signature": ""})
    assert missing.status_code == 401 and "no label is in both" in missing.text
    wrong = httpx.post(inbox, content=body + b" ", headers=headers)
    assert wrong.status_code == 401 and "Content-Digest header does not match" in wrong.text
    recomputed = {**headers, "Content-Digest": content_digest(body + b" ")}
    tampered = httpx.post(inbox, content=body + b" ", headers=recomputed)
    assert tampered.status_code == 401 and "does not match the request" in tampered.text


def test_a_cavage_only_inbox_gets_a_second_knock_and_is_remembered(
    registry: LiveServer, cavage_only: Remote
) -> None:
    package = registry.url + "/ap/packages/alpha/lib"
    follow = _post(
        package + "/inbox", _follow(cavage_only, package), f"{cavage_only.actor}#main-key"
    )
    assert follow.status_code == 202, follow.text

    _wait(cavage_only, 1)
    assert [(s, status) for s, status, _, _ in cavage_only.attempts] == [
        ("rfc9421", 401), ("cavage", 202)
    ]  # fmt: skip
    token = registry.publisher_token("alpha")
    published = httpx.post(
        registry.url + "/api/v1/packages",
        headers={"Authorization": f"Bearer {token}"},
        files={"tarball": ("t.tar.gz", package_tarball("lib", "1.1.0"))},
    )
    assert published.status_code == 201, published.text
    _wait(cavage_only, 2)

    assert [s for s, _, _, _ in cavage_only.attempts[2:]] == ["cavage"]  # cavage first now
    _scheme, headers, body = cavage_only.accepted()[1]
    assert json.loads(body)["type"] == "Create"
    public = _registry_key(registry, package)
    verify_cavage(public, parse_signature(headers["signature"]), "POST", "/inbox", headers)


def test_a_remembered_scheme_lasts_its_ttl_only() -> None:
    remembered = Preferences(ttl=3600)
    assert remembered.order("a.example") == (RFC9421, CAVAGE)
    remembered.took("a.example", CAVAGE)
    assert remembered.order("a.example") == (CAVAGE, RFC9421)
    assert remembered.order("b.example") == (RFC9421, CAVAGE)  # per host
    remembered.took("a.example", RFC9421)  # it learnt RFC 9421
    assert remembered.order("a.example") == (RFC9421, CAVAGE)
    expired = Preferences(ttl=-1)
    expired.took("a.example", CAVAGE)
    assert expired.order("a.example") == (RFC9421, CAVAGE)
