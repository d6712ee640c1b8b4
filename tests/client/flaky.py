"""A real HTTP server on loopback in front of the live registry, failing on purpose: for
each package, the first download requests get the failures planned for it, the later
ones the registry's own answer. It counts every request, as the registry would see them."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx

# What a planned failure does to one request.
UNAVAILABLE = "503"  # `503 Service Unavailable`, as a registry restarting behind its proxy
SERVER_ERROR = "500"
DROPPED = "drop"  # the connection closed without an answer
# The registry's own 404 (its error envelope), as for a version it does not have.
MISSING = "404"


class FlakyRegistry(ThreadingHTTPServer):
    """The server; `plan` maps a package name to the failures its first requests get."""

    daemon_threads = True

    def __init__(self, upstream: str, plan: dict[str, list[str]]) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.upstream = upstream
        self.plan = plan
        self.attempts: Counter[str] = Counter()
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def next_failure(self, name: str) -> str | None:
        """Count a request for `name`; the failure it gets, None to pass it on."""
        with self.lock:
            self.attempts[name] += 1
            planned = self.plan.get(name, [])
            number = self.attempts[name]
            return planned[number - 1] if number <= len(planned) else None


class _Handler(BaseHTTPRequestHandler):
    server: FlakyRegistry

    def log_message(self, format: str, *args: object) -> None:
        pass  # pytest shows failures; the request log is noise

    def _answer(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        # /api/v1/packages/{namespace}/{name}/versions/{version}/download; other requests
        # (the index, which `sync` reads to learn of deleted versions) pass untouched.
        # Index requests are planned (and counted) under `index:{name}` when the plan has it.
        parts = self.path.split("/")
        is_download = self.path.endswith("/download") and len(parts) > 7
        is_index = self.path.startswith("/api/v1/index/") and len(parts) == 6
        failure = None
        if is_download:
            failure = self.server.next_failure(parts[5])
        elif is_index and f"index:{parts[5]}" in self.server.plan:
            failure = self.server.next_failure(f"index:{parts[5]}")
        if failure == DROPPED:
            self.close_connection = True
            return
        path = self.path
        if failure in (UNAVAILABLE, SERVER_ERROR):
            self._answer(int(failure), b"upstream unavailable\n", "text/plain")
            return
        if failure == MISSING:
            parts[7] = "9.9.9"  # a version the registry has not: its own 404 answer
            path = "/".join(parts)
        answer = httpx.get(self.server.upstream + path, timeout=30)
        self._answer(answer.status_code, answer.content, answer.headers["Content-Type"])


@contextmanager
def flaky_registry(upstream: str, plan: dict[str, list[str]]) -> Iterator[FlakyRegistry]:
    """Serve a `FlakyRegistry` in a thread for the `with` block."""
    server = FlakyRegistry(upstream, plan)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
