"""Real server processes over raw sockets, as `fpmreg-server run` serves in development
(uvicorn) and production (gunicorn): oversized heads are refused, slow clients cut off."""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from fpmreg.server.serving import MAX_HEAD_BYTES
from tests.support.databases import fresh_database
from tests.support.live import LiveServer

# Small deadlines keep the test fast; a socket that is still open after WAIT seconds
# was never going to be closed.
DEADLINE_SECONDS = "1"
WAIT = 20.0
MODES = {
    "uvicorn": {"FPMREG_ENV": "development"},  # `fpmreg-server run`, one process
    "gunicorn": {"FPMREG_ENV": "test"},  # any other environment: gunicorn workers
}


def _serve(
    request: pytest.FixtureRequest, tmp: Path, deadlines: dict[str, str]
) -> Iterator[LiveServer]:
    env = {**MODES[request.param], **deadlines}
    with fresh_database(tmp) as url, LiveServer(url, tmp, env=env) as live:
        yield live


@pytest.fixture(scope="module", params=list(MODES))
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    """A server with the default deadlines (a loaded test machine never trips them)."""
    yield from _serve(request, tmp_path_factory.mktemp(f"server-{request.param}"), {})


@pytest.fixture(scope="module", params=list(MODES))
def impatient_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    """A server whose head and body deadlines are short, to keep the test fast."""
    deadlines = {
        "FPMREG_HEADER_TIMEOUT_SECONDS": DEADLINE_SECONDS,
        "FPMREG_BODY_TIMEOUT_SECONDS": DEADLINE_SECONDS,
    }
    tmp = tmp_path_factory.mktemp(f"impatient-{request.param}")
    yield from _serve(request, tmp, deadlines)


def _connect(server: LiveServer) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=WAIT)
    return sock


def _read_until_closed(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes; a timeout means it never did."""
    received = b""
    try:
        while chunk := sock.recv(65536):
            received += chunk
    except ConnectionResetError:
        pass  # closed with our unread bytes: closed all the same
    except TimeoutError:
        pytest.fail(f"the server still held the connection after {WAIT} s: {received[:200]!r}")
    finally:
        sock.close()
    return received


def _healthy(server: LiveServer) -> None:
    assert httpx.get(server.url + "/api/v1/checks", timeout=10).status_code == 200


def test_an_oversized_request_head_is_refused_and_the_server_stays_healthy(
    server: LiveServer,
) -> None:
    for size in (4 * MAX_HEAD_BYTES, 100 * 1024 * 1024):  # in one read; in very many
        sock = _connect(server)
        head = b"GET /api/v1/checks HTTP/1.1\r\nHost: x\r\nX-Padding: " + b"a" * size
        # Refused before we finished sending, perhaps: the answer is still in the socket.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            sock.sendall(head + b"\r\n\r\n")
        answer = _read_until_closed(sock)
        assert answer.startswith((b"HTTP/1.1 400", b"HTTP/1.1 431")), answer[:200]
        # Pipelined behind a request that is served: read while it was, refused all the same.
    sock = _connect(server)
    served = b"GET /api/v1/checks HTTP/1.1\r\nHost: x\r\n\r\n"
    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
        sock.sendall(
            served + b"GET / HTTP/1.1\r\nX-Padding: " + b"a" * 4 * MAX_HEAD_BYTES + b"\r\n\r\n"
        )
    answer = _read_until_closed(sock)
    assert answer.startswith(b"HTTP/1.1 200"), answer[:200]
    assert b"HTTP/1.1 400" in answer or b"HTTP/1.1 431" in answer, answer[-300:]
    _healthy(server)
    # A head just under the limit is served.
    ok = httpx.get(server.url + "/api/v1/checks", headers={"X-Padding": "a" * 8000}, timeout=10)
    assert ok.status_code == 200


def test_slow_clients_are_disconnected_at_the_deadlines(impatient_server: LiveServer) -> None:
    server = impatient_server
    silent = _connect(server)  # connects and sends nothing
    half_line = _connect(server)
    half_line.sendall(b"GET /api/v1/che")
    dripping = _connect(server)  # a byte at a time never pushes the deadline back
    half_body = _connect(server)
    half_body.sendall(
        b"POST /login HTTP/1.1\r\nHost: x\r\n"
        b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\n"
        b"username=slow&pass"
    )
    drip_closed = False
    for byte in b"GET /api/v1/checks HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaaaaaa":
        try:
            dripping.sendall(bytes([byte]))
        except (BrokenPipeError, ConnectionResetError):
            drip_closed = True
            break
        time.sleep(0.25)
    for sock in (silent, half_line, half_body):
        answer = _read_until_closed(sock)
        assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
    assert drip_closed or _read_until_closed(dripping).startswith(b"HTTP/1.1 408")
    _healthy(server)
