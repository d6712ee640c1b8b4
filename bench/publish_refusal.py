"""Scenario: refusing an unauthenticated ~10 MB upload, next to a dry run of the same bytes.

A publish checks the token before it reads the archive (docs/architecture.md, "One
request lifecycle"), so a stranger's upload costs the server the transfer at most,
never the unpacking and scanning. Registered after those in `scenarios.py`.
"""

from __future__ import annotations

import contextlib
import socket
import statistics
import threading
import time
from typing import Any
from urllib.parse import urlsplit

import httpx

from bench.payloads import BigPackage, big_package
from bench.scenarios import BenchFailure, Context, Outcome, Target, _timings, scenario
from fpmreg.core.archive import DEFAULT_LIMITS
from tests.support.tarballs import DEFAULT_LICENSE, fpm_publish_form

# A refusal must cost less than half of checking the same archive.
REFUSAL_SHARE_TARGET = 0.5
RUNS = 5
BAD_TOKEN = "fpmreg_" + "0" * 43  # well formed, unknown
TIMEOUT = 60


def _big(ctx: Context) -> BigPackage:
    """The ~10 MB package (built once per run, shared with other scenarios)."""
    package: BigPackage | None = ctx.notes.get("big_package")
    if package is None:
        package = big_package("bench-big", "1.0.0", limit=DEFAULT_LIMITS.max_compressed_bytes)
        ctx.notes["big_package"] = package
    return package


def _request(ctx: Context, endpoint: str, token: str, data: bytes) -> tuple[bytes, bytes]:
    """Path and raw bytes (head and body) of a publish request, as a client sends it."""
    if endpoint == "fpm":
        form = fpm_publish_form("bench-big", "1.0.0", DEFAULT_LICENSE, token, data)
        form["data"]["dry_run"] = "true"
        built = httpx.Request("POST", f"{ctx.server.url}/packages", **form)
    else:
        built = httpx.Request(
            "POST",
            f"{ctx.server.url}/api/v1/packages",
            headers={"Authorization": f"Bearer {token}"},
            data={"dry_run": "true"},
            files={"tarball": ("package.tar.gz", data, "application/gzip")},
        )
    body = built.read()
    host = urlsplit(ctx.server.url).netloc
    head = (
        f"POST {built.url.raw_path.decode()} HTTP/1.1\r\nHost: {host}\r\n"
        f"Content-Type: {built.headers['Content-Type']}\r\n"
        + (f"Authorization: {built.headers['Authorization']}\r\n" if endpoint == "api" else "")
        + f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    return head.encode(), body


def _send_all(sock: socket.socket, body: bytes) -> None:
    # A server that answered early may close before the body is all sent: that is the
    # point of answering early, not an error.
    try:
        sock.sendall(body)
    except OSError:
        return


def timed_post(ctx: Context, head: bytes, body: bytes) -> tuple[float, int, bytes]:
    """Send a request and read the whole answer: (seconds until it was read, status,
    answer). The body is sent from another thread, so an answer that comes before the
    body is finished is read as soon as it arrives."""
    port = urlsplit(ctx.server.url).port
    with socket.create_connection(("127.0.0.1", port or 80), timeout=TIMEOUT) as sock:
        start = time.perf_counter()
        sock.sendall(head)
        sender = threading.Thread(target=_send_all, args=(sock, body), daemon=True)
        sender.start()
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
            if _complete(answer):
                break
        elapsed = time.perf_counter() - start
        with contextlib.suppress(OSError):  # the server may have hung up already
            sock.shutdown(socket.SHUT_RDWR)
        sender.join(TIMEOUT)
    status = int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/") else 0
    return elapsed, status, answer


def _complete(answer: bytes) -> bool:
    head, found, rest = answer.partition(b"\r\n\r\n")
    if not found:
        return False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return len(rest) >= int(value)
    return False


def _measure(ctx: Context, endpoint: str, token: str, data: bytes, status: int) -> list[float]:
    head, body = _request(ctx, endpoint, token, data)
    runs = []
    for _ in range(RUNS):
        elapsed, got, answer = timed_post(ctx, head, body)
        if got != status:
            raise BenchFailure(f"{endpoint}: expected HTTP {status}, got {answer[-600:]!r}")
        runs.append(elapsed)
    return runs


@scenario(
    "publish-refusal",
    "refusing an unauthenticated ~10 MB upload vs an authenticated dry run of it",
)
def publish_refusal(ctx: Context, outcome: Outcome) -> None:
    """The same ~10 MB archive through both publish endpoints: with a token that does
    not exist (refused, 401) and with the publisher's token and `dry_run=true` (every
    check run, 200). Wall time from the first byte sent to the answer read."""
    package = _big(ctx)
    outcome.metrics["package_bytes"] = package.compressed_bytes
    shares: dict[str, float] = {}
    for endpoint in ("fpm", "api"):
        refused = _measure(ctx, endpoint, BAD_TOKEN, package.data, 401)
        checked = _measure(ctx, endpoint, ctx.package.token, package.data, 200)
        share = statistics.median(refused) / statistics.median(checked)
        shares[endpoint] = share
        numbers: dict[str, Any] = {
            "refusal_s": _timings(refused),
            "dry_run_s": _timings(checked),
            "refusal_share_of_dry_run": round(share, 4),
        }
        outcome.metrics[endpoint] = numbers
    # fpm's form sends the token after the tarball, so its refusal still receives the
    # whole body: the slower of the two is the one held to the target.
    worst = max(shares.values())
    outcome.metrics["refusal_share_of_dry_run"] = round(worst, 4)
    outcome.target = Target.at_most("refusal_share_of_dry_run", REFUSAL_SHARE_TARGET, worst)
