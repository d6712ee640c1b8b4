"""A registry (or something posing as one) that answers outside the documented wire
format gets a clear `ClientError` naming the bad key, never a traceback or a silent
default such as an empty sha256."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from fpmreg.client.errors import ClientError
from fpmreg.client.index import HttpIndex, new_client
from fpmreg.client.mirror import list_packages
from fpmreg.client.registry import publish
from fpmreg.client.yank import Target, set_yanked

SHA = "a" * 64


class Canned(BaseHTTPRequestHandler):
    """Answers every request with the status and body the test put in `ANSWERS`."""

    answers: dict[str, tuple[int, bytes]] = {}

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        status, body = self.answers[self.path.split("?")[0]]
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_DELETE = _answer

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def registry() -> Iterator[str]:
    """A real HTTP server on loopback that answers what each test sets."""
    Canned.answers = {}
    server = ThreadingHTTPServer(("127.0.0.1", 0), Canned)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def answer(path: str, status: int, body: object) -> None:
    Canned.answers[path] = (status, body if isinstance(body, bytes) else json.dumps(body).encode())


def test_a_publish_answer_without_a_valid_sha256_is_a_clear_error(registry: str) -> None:
    answer("/api/v1/packages", 201, {"namespace": "demo", "name": "hello", "sha256": 5})
    with pytest.raises(ClientError, match=r"malformed \(`version`: Field required\)"):
        publish(registry, "fpmreg_x", b"tar", "hello.tar.gz", dry_run=False)
    answer("/api/v1/packages", 201, b"<html>hello</html>")
    with pytest.raises(ClientError, match="is not JSON"):
        publish(registry, "fpmreg_x", b"tar", "hello.tar.gz", dry_run=False)


def test_an_index_entry_without_a_sha256_is_refused_not_read_as_empty(registry: str) -> None:
    answer("/api/v1/index/demo/hello", 200, {"namespace": "demo", "name": "hello",
           "versions": [{"version": "1.0.0", "yanked": False, "dependencies": [],
                         "ranges": {}, "download_url": "/t"}]})  # fmt: skip
    with new_client(registry) as client, pytest.raises(ClientError) as caught:
        HttpIndex(registry, client).versions("demo", "hello")
    assert "`versions.0.sha256`: Field required" in str(caught.value)


def test_a_search_page_whose_packages_are_not_a_list_is_a_clear_error(registry: str) -> None:
    answer("/api/v1/packages", 200, {"packages": "all of them", "total": 1})
    with new_client(registry) as client, pytest.raises(ClientError, match="`packages`"):
        list(list_packages(client))


def test_a_yank_answer_whose_flag_is_not_a_boolean_is_a_clear_error(registry: str) -> None:
    path = "/api/v1/packages/demo/hello/versions/1.0.0/yank"
    answer(path, 200, {"namespace": "demo", "name": "hello", "version": "1.0.0",
                       "yanked": "perhaps", "yank_reason": "x"})  # fmt: skip
    with pytest.raises(ClientError, match=r"malformed \(`yanked`"):
        set_yanked(registry, "fpmreg_x", Target("demo", "hello", "1.0.0"), yank=True, reason="x")
