"""ActivityPub between a live registry and a remote actor served on loopback: WebFinger,
NodeInfo, actors, a signed Follow answered by a signed Accept, and every bad signature,
replay, stale date and private key URL refused."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from cryptography.hazmat.primitives.serialization import (
    load_pem_public_key,
)

from fpmreg.core.httpsig import digest
from fpmreg.core.httpsig9421 import Message, parse_signatures, verify
from tests.support.activitypub import (
    Remote,
    follow_activity,
    live_registry,
    serve_remote,
    signed_post,
)
from tests.support.live import LiveServer
from tests.support.tarballs import package_tarball


@pytest.fixture
def remote() -> Iterator[Remote]:
    with serve_remote() as actor:
        yield actor


def _registry(tmp_path: Path, name: str, **env: str) -> Iterator[LiveServer]:
    yield from live_registry(tmp_path, name, **env)


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[LiveServer]:
    yield from _registry(tmp_path, "a", FPMREG_FEDERATION_ALLOW_PRIVATE="true")


_signed_post = signed_post


def _follow(remote: Remote, target: str) -> dict[str, Any]:
    return follow_activity(remote, target)


def test_webfinger_nodeinfo_and_actors(registry: LiveServer) -> None:
    host = urlsplit(registry.url).netloc
    finger = httpx.get(registry.url + "/.well-known/webfinger",
                       params={"resource": f"acct:publisher@{host}"})  # fmt: skip
    assert finger.status_code == 200 and finger.headers["content-type"] == "application/jrd+json"
    (self_link,) = [link for link in finger.json()["links"] if link["rel"] == "self"]
    person = httpx.get(self_link["href"]).json()
    assert person["type"] == "Person" and person["preferredUsername"] == "publisher"
    assert person["publicKey"]["owner"] == person["id"]
    assert person["assertionMethod"][0]["publicKeyMultibase"].startswith("z6Mk")
    for path, kind in (("/ap/actor", "Service"), ("/ap/namespaces/alpha", "Group"),
                       ("/ap/packages/alpha/lib", "Application")):  # fmt: skip
        answer = httpx.get(registry.url + path)
        assert answer.headers["content-type"] == "application/activity+json"
        assert answer.json()["type"] == kind
    links = httpx.get(registry.url + "/.well-known/nodeinfo").json()["links"]
    info = httpx.get(links[0]["href"]).json()
    assert info["version"] == "2.1" and info["software"]["name"] == "fpmreg"
    assert info["protocols"] == ["activitypub"]
    outbox = httpx.get(registry.url + "/ap/packages/alpha/lib/outbox").json()
    assert outbox["type"] == "OrderedCollection" and outbox["totalItems"] == 1
    (create,) = httpx.get(outbox["first"]).json()["orderedItems"]
    assert create["object"]["fpmregRecord"]["subject"] == "pkg:fpm/alpha/lib@1.0.0"
    unknown = httpx.get(registry.url + "/.well-known/webfinger",
                        params={"resource": f"acct:nobody@{host}"})  # fmt: skip
    assert unknown.status_code == 404 and unknown.json()["errors"][0]["code"] == "ap-not-found"


def _accept(remote: Remote) -> tuple[dict[str, str], bytes]:
    deadline = time.monotonic() + 30
    while not remote.received and time.monotonic() < deadline:
        time.sleep(0.2)
    assert remote.received, "no Accept was delivered"
    return remote.received[0]


def test_a_signed_follow_is_accepted_with_a_signed_accept(
    registry: LiveServer, remote: Remote
) -> None:
    package = registry.url + "/ap/packages/alpha/lib"
    follow = _follow(remote, package)

    answer = _signed_post(package + "/inbox", follow, f"{remote.actor}#main-key")

    assert answer.status_code == 202, answer.text
    headers, body = _accept(remote)
    accept = json.loads(body)
    assert accept["type"] == "Accept" and accept["object"]["id"] == follow["id"]
    actor = httpx.get(package).json()
    public = load_pem_public_key(actor["publicKey"]["publicKeyPem"].encode())
    assert isinstance(public, RSAPublicKey)
    (signed,) = parse_signatures(headers["signature-input"], headers["signature"])
    assert signed.param("keyid") == actor["publicKey"]["id"]
    # the registry signed its delivery (RFC 9421, which this remote accepts)
    verify(public, Message("POST", f"{remote.base}/inbox", headers), signed)
    followers = httpx.get(package + "/followers").json()
    assert followers["orderedItems"] == [remote.actor]


def test_bad_missing_replayed_and_stale_signatures_are_refused(
    registry: LiveServer, remote: Remote
) -> None:
    inbox = registry.url + "/ap/inbox"
    key_id = f"{remote.actor}#main-key"
    first = _signed_post(inbox, {"type": "Like", "actor": remote.actor, "object": "x"}, key_id)
    assert first.status_code == 202, first.text
    replay = httpx.post(inbox, content=first.request.content, headers=first.request.headers)
    assert replay.status_code == 401 and "replay" in replay.text

    stale = _signed_post(inbox, {"type": "Like", "actor": remote.actor},
                         key_id, datetime.now(UTC) - timedelta(hours=1))  # fmt: skip
    assert stale.status_code == 401 and "Date" in stale.text

    unsigned = httpx.post(inbox, json={"type": "Like", "actor": remote.actor})
    assert unsigned.status_code == 401 and "no Signature header" in unsigned.text

    good = _signed_post(inbox, {"type": "Like", "actor": remote.actor, "n": 1}, key_id)
    tampered_headers = dict(good.request.headers)
    body = b'{"type": "Like", "actor": "' + remote.actor.encode() + b'", "n": 2}'
    tampered_headers["digest"] = digest(body)
    tampered = httpx.post(inbox, content=body, headers=tampered_headers)
    assert tampered.status_code == 401 and "does not match" in tampered.text

    impostor = _signed_post(inbox, {"type": "Like", "actor": "https://other.example/u"}, key_id)
    assert impostor.status_code == 401 and "not the owner" in impostor.text


def test_a_key_on_a_private_address_is_refused(tmp_path: Path, remote: Remote) -> None:
    # An actor whose key URL points at the registry's own network (here loopback, over
    # https as production requires): refused before anything is fetched.
    for strict in _registry(tmp_path, "strict"):  # private addresses not allowed
        key_id = f"https://127.0.0.1:{remote.port}/actor#main-key"
        activity = {"type": "Like", "actor": f"https://127.0.0.1:{remote.port}/actor"}
        answer = _signed_post(strict.url + "/ap/inbox", activity, key_id)
        assert answer.status_code == 401
        assert "is a private or loopback address: refused" in answer.text
        assert not remote.received


def test_a_new_release_is_delivered_to_the_packages_followers(
    registry: LiveServer, remote: Remote
) -> None:
    package = registry.url + "/ap/packages/alpha/lib"
    follow = _signed_post(package + "/inbox", _follow(remote, package), f"{remote.actor}#main-key")
    assert follow.status_code == 202, follow.text
    _accept(remote)
    token = registry.publisher_token("alpha")

    published = httpx.post(
        registry.url + "/api/v1/packages",
        headers={"Authorization": f"Bearer {token}"},
        files={"tarball": ("t.tar.gz", package_tarball("lib", "1.1.0"))},
    )

    assert published.status_code == 201, published.text
    deadline = time.monotonic() + 30
    while len(remote.received) < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    headers, body = remote.received[1]
    create = json.loads(body)
    assert create["type"] == "Create" and create["actor"] == package
    record = create["object"]["fpmregRecord"]
    assert record["subject"] == "pkg:fpm/alpha/lib@1.1.0"
    assert record["sha256"] == published.json()["sha256"]
    public = load_pem_public_key(httpx.get(package).json()["publicKey"]["publicKeyPem"].encode())
    assert isinstance(public, RSAPublicKey)
    (signed,) = parse_signatures(headers["signature-input"], headers["signature"])
    verify(public, Message("POST", f"{remote.base}/inbox", headers), signed)
