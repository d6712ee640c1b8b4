"""Delivering one release to 100 follower inboxes on loopback (issue 15).

A live registry (its own database; jobs run in-process, as on the embedded default) and
100 remote actors served by one loopback HTTP server, each with its own inbox. Every
actor follows the package with a signed `Follow`; once the 100 `Accept`s arrived, a new
version is published, and the time from the publish's answer to the last `Create`
received (each answered `202`) is recorded, with the first.
"""

from __future__ import annotations

import json
import tempfile
import threading
import time
from datetime import UTC, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from cryptography.hazmat.primitives.asymmetric.rsa import generate_private_key
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from bench.scenarios import BenchFailure, Context, Outcome, scenario
from fpmreg.core.httpsig import REQUIRED_WITH_BODY, digest, sign
from tests.support.databases import fresh_database
from tests.support.live import LiveServer, free_port
from tests.support.tarballs import package_tarball

FOLLOWERS = 100
KEY = generate_private_key(65537, 2048)
PEM = KEY.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode()


class Inboxes:
    """`FOLLOWERS` actors on one server; when each received what."""

    def __init__(self) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.received: list[tuple[float, str]] = []  # (monotonic time, activity type)
        self.lock = threading.Lock()

    def actor(self, i: int) -> dict[str, Any]:
        actor = f"{self.base}/actors/{i}"
        key = {"id": f"{actor}#main-key", "owner": actor, "publicKeyPem": PEM}
        return {"id": actor, "type": "Person", "inbox": f"{self.base}/inboxes/{i}",
                "publicKey": key}  # fmt: skip

    def serve(self) -> ThreadingHTTPServer:
        inboxes = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = json.dumps(inboxes.actor(int(self.path.rsplit("/", 1)[1]))).encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self) -> None:
                data = self.rfile.read(int(self.headers["Content-Length"]))
                with inboxes.lock:
                    inboxes.received.append((time.monotonic(), json.loads(data)["type"]))
                self.send_response(202)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *_args: Any) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return server

    def count(self, kind: str) -> int:
        with self.lock:
            return sum(1 for _, k in self.received if k == kind)


def _follow(client: httpx.Client, package: str, actor: dict[str, Any]) -> None:
    activity = {"type": "Follow", "id": actor["id"] + "#follow", "actor": actor["id"],
                "object": package}  # fmt: skip
    body = json.dumps(activity).encode()
    target = urlsplit(package).path + "/inbox"
    headers = {"Host": urlsplit(package).netloc, "Digest": digest(body),
               "Date": format_datetime(datetime.now(UTC), usegmt=True)}  # fmt: skip
    headers["Signature"] = sign(KEY, actor["publicKey"]["id"], "POST", target, headers,
                                REQUIRED_WITH_BODY)  # fmt: skip
    answer = client.post(package + "/inbox", content=body, headers=headers)
    if answer.status_code != 202:
        raise BenchFailure(f"a Follow was refused: {answer.status_code} {answer.text[:200]}")


def _wait(inboxes: Inboxes, kind: str, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while inboxes.count(kind) < FOLLOWERS:
        if time.monotonic() > deadline:
            raise BenchFailure(f"{inboxes.count(kind)} of {FOLLOWERS} {kind}s arrived")
        time.sleep(0.05)


def run_delivery_benchmark() -> dict[str, float]:
    inboxes = Inboxes()
    server = inboxes.serve()
    env = {"FPMREG_FEDERATION_ALLOW_PRIVATE": "true", "FPMREG_JOB_POLL_SECONDS": "0.1"}
    try:
        with (
            tempfile.TemporaryDirectory(prefix="fpmreg-ap-") as tmp,
            fresh_database(Path(tmp)) as url,
            LiveServer(url, Path(tmp), env=env) as registry,
        ):
            token = registry.publisher_token("bench")
            auth = {"Authorization": f"Bearer {token}"}
            with httpx.Client(timeout=60) as client:
                files = {"tarball": ("t.tar.gz", package_tarball("lib", "1.0.0"))}
                client.post(registry.url + "/api/v1/packages", headers=auth, files=files)
                package = registry.url + "/ap/packages/bench/lib"
                for i in range(FOLLOWERS):
                    _follow(client, package, inboxes.actor(i))
                _wait(inboxes, "Accept", 300)
                files = {"tarball": ("t.tar.gz", package_tarball("lib", "1.1.0"))}
                answer = client.post(registry.url + "/api/v1/packages", headers=auth, files=files)
                published = time.monotonic()
                if answer.status_code != 201:
                    raise BenchFailure(f"the publish failed: {answer.text[:200]}")
                _wait(inboxes, "Create", 300)
    finally:
        server.shutdown()
    creates = sorted(t for t, k in inboxes.received if k == "Create")
    return {
        "followers": FOLLOWERS,
        "first_create_s": round(creates[0] - published, 3),
        "last_create_s": round(creates[-1] - published, 3),
    }


@scenario("ap-deliver-100", "ActivityPub: one release delivered to 100 follower inboxes")
def ap_scenario(ctx: Context, outcome: Outcome) -> None:
    """A registry of its own (the shared one is not used); the issue names no target."""
    outcome.metrics.update(run_delivery_benchmark())
