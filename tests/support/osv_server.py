"""A small, real OSV API on loopback, serving OSV records from a folder of JSON files.

An independent implementation of what osv.dev documents (not a stand-in for our own
server): `POST /v1/querybatch` (ids and `modified` only, one result per query in order,
`next_page_token` when a result has more than `page_size` ids, `page_token` to continue)
and `GET /v1/vulns/{id}`. Its range logic is written here from the OSV schema's
evaluation rules, deliberately not `fpmreg.core.advisory`, so the client is checked
against a second reading of the spec.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


def _key(version: str) -> tuple[int, ...]:
    parts = [int(p) for p in version.split(".")]
    return tuple(parts + [0] * (3 - len(parts)))


def affects(record: dict[str, Any], name: str, ecosystem: str, version: str) -> bool:
    """Whether `record` affects `name@version` (OSV schema, "Evaluation")."""
    if record.get("withdrawn"):
        return False
    target = _key(version)
    for entry in record.get("affected", []):
        package = entry.get("package", {})
        if package.get("name") != name or package.get("ecosystem") != ecosystem:
            continue
        if version in entry.get("versions", []):
            return True
        for rng in entry.get("ranges", []):
            if rng.get("type") not in ("ECOSYSTEM", "SEMVER"):
                continue
            introduced = [e["introduced"] for e in rng["events"] if "introduced" in e]
            fixed = [e["fixed"] for e in rng["events"] if "fixed" in e]
            last = [e["last_affected"] for e in rng["events"] if "last_affected" in e]
            for start in introduced:
                low = (0, 0, 0) if start == "0" else _key(start)
                if target < low:
                    continue
                ends_fixed = [_key(f) for f in fixed if _key(f) > low]
                ends_last = [_key(v) for v in last if _key(v) >= low]
                if ends_fixed and target >= min(ends_fixed):
                    continue
                if ends_last and target > min(ends_last):
                    continue
                return True
    return False


@dataclass
class OsvServer:
    """Records in `folder` (one `ID.json` each), served at `url`; `requests` counts."""

    folder: Path
    page_size: int = 1000
    url: str = ""
    requests: list[str] = field(default_factory=list)

    def records(self) -> list[dict[str, Any]]:
        """Every record on disk, read afresh (a test may add or withdraw one)."""
        return [json.loads(p.read_text()) for p in sorted(self.folder.glob("*.json"))]

    def add(self, record: dict[str, Any]) -> None:
        """Write (or replace) one record."""
        (self.folder / f"{record['id']}.json").write_text(json.dumps(record))

    def answer(self, query: dict[str, Any]) -> dict[str, Any]:
        """One result of `querybatch`: `{}` when nothing affects the query."""
        package = query.get("package", {})
        ids = [
            {"id": r["id"], "modified": r.get("modified", "")}
            for r in self.records()
            if affects(r, package.get("name", ""), package.get("ecosystem", ""), query["version"])
        ]
        start = int(query.get("page_token") or 0)
        page = ids[start : start + self.page_size]
        result: dict[str, Any] = {"vulns": page} if page else {}
        if start + self.page_size < len(ids):
            result["next_page_token"] = str(start + self.page_size)
        return result


def _handler(server: OsvServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            return

        def _send(self, status: int, body: Any) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self) -> None:
            server.requests.append(f"POST {self.path}")
            if self.path != "/v1/querybatch":
                self._send(404, {"code": 5, "message": "Not Found"})
                return
            length = int(self.headers.get("Content-Length", 0))
            try:
                queries = json.loads(self.rfile.read(length))["queries"]
            except (ValueError, KeyError):
                self._send(400, {"code": 3, "message": "Invalid query."})
                return
            self._send(200, {"results": [server.answer(q) for q in queries]})

        def do_GET(self) -> None:
            server.requests.append(f"GET {self.path}")
            prefix = "/v1/vulns/"
            wanted = self.path[len(prefix) :] if self.path.startswith(prefix) else None
            record = next((r for r in server.records() if r["id"] == wanted), None)
            if record is None:
                self._send(404, {"code": 5, "message": "Bug not found."})
            else:
                self._send(200, record)

    return Handler


@contextmanager
def running_osv(folder: Path, page_size: int = 1000) -> Iterator[OsvServer]:
    """Serve `folder` on a free loopback port for the duration of the block."""
    folder.mkdir(parents=True, exist_ok=True)
    server = OsvServer(folder, page_size)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(server))
    server.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


def record(
    advisory_id: str,
    package: str,
    *,
    introduced: str = "0",
    fixed: str = "",
    last_affected: str = "",
    summary: str = "",
    withdrawn: str = "",
    mitigation: dict[str, str] | None = None,
    aliases: tuple[str, ...] = (),
) -> dict[str, Any]:
    """An OSV record of ecosystem `fpm` with one ECOSYSTEM range."""
    events: list[dict[str, str]] = [{"introduced": introduced}]
    if fixed:
        events.append({"fixed": fixed})
    if last_affected:
        events.append({"last_affected": last_affected})
    found: dict[str, Any] = {
        "schema_version": "1.6.0",
        "id": advisory_id,
        "modified": "2026-11-30T12:00:00Z",
        "published": "2026-11-30T12:00:00Z",
        "summary": summary or f"a flaw in {package}",
        "details": f"Details of {advisory_id}.",
        "aliases": list(aliases),
        "affected": [
            {
                "package": {"ecosystem": "fpm", "name": package},
                "ranges": [{"type": "ECOSYSTEM", "events": events}],
            }
        ],
        "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],
        "references": [{"type": "ADVISORY", "url": f"https://example.org/{advisory_id}"}],
    }
    if withdrawn:
        found["withdrawn"] = withdrawn
    if mitigation:
        found["database_specific"] = {"mitigation": mitigation}
    return found
