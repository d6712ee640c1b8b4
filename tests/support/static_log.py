"""A registry's transparency log built with the core code and served on loopback: the
paths `fpmreg verify` reads (`/log/keys`, `/log/checkpoint`, `/log/tile/...`), for
records the real server does not write yet (a mirrored release's `origin`)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from fpmreg.core.integrity import add_proof, canonical, multikey
from fpmreg.core.tlog.merkle import MemoryTree, leaf_hash, root_hash
from fpmreg.core.tlog.note import Checkpoint, Signer, sign
from fpmreg.core.tlog.tiles import (
    TILE_WIDTH,
    TilePathError,
    encode_bundle,
    entries_for,
    parse_tile_path,
    tile_for,
    tile_hashes,
)


@dataclass
class StaticLog:
    """A log at `url` whose records are signed with `key`, its checkpoint with `note`."""

    url: str = ""
    key: Ed25519PrivateKey = field(default_factory=Ed25519PrivateKey.generate)
    note: Signer = field(default_factory=lambda: Signer.generate("mirror.test/log"))
    entries: list[bytes] = field(default_factory=list)
    cosigners: list[Signer] = field(default_factory=list)  # witnesses cosigning it

    def append(self, body: dict[str, Any]) -> int:
        """Sign `body` (given its `logIndex`) and add it; its index."""
        index = len(self.entries)
        record = add_proof(
            {**body, "logIndex": index},
            self.key,
            f"{self.url}/log/keys#{multikey(self.key.public_key())}",
            "2026-12-03T00:00:00Z",
        )
        self.entries.append(canonical(record))
        return index

    def keys(self) -> dict[str, Any]:
        public = multikey(self.key.public_key())
        return {
            "origin": self.note.name,
            "note_key": self.note.verifier.encode(),
            "keys": [
                {
                    "id": f"{self.url}/log/keys#{public}",
                    "type": "Multikey",
                    "controller": self.url,
                    "publicKeyMultibase": public,
                    "current": True,
                }
            ],
        }

    def checkpoint(self) -> str:
        tree = MemoryTree([leaf_hash(e) for e in self.entries])
        text = Checkpoint(self.note.name, tree.size, root_hash(tree, tree.size)).text()
        return sign(text, self.note, *self.cosigners, timestamp=1_700_000_000)

    def tile(self, path: str) -> bytes | None:
        """The bytes of a tile or bundle path, None when the log has no such tile."""
        try:
            wanted = parse_tile_path(path)
        except TilePathError:
            return None
        size = len(self.entries)
        if wanted.is_entries:
            if entries_for(wanted.index, size) != wanted:
                return None
            first = wanted.index * TILE_WIDTH
            return encode_bundle(self.entries[first : first + wanted.width])
        if tile_for(wanted.level, wanted.index, size) != wanted:
            return None
        return tile_hashes(MemoryTree([leaf_hash(e) for e in self.entries]), wanted)


def _handler(log: StaticLog) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            return

        def _send(self, status: int, data: bytes, kind: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            if self.path == "/log/keys":
                self._send(200, json.dumps(log.keys()).encode(), "application/json")
            elif self.path == "/log/checkpoint":
                self._send(200, log.checkpoint().encode(), "text/plain")
            elif self.path.startswith("/log/tile/"):
                data = log.tile(self.path.removeprefix("/log/"))
                if data is None:
                    self._send(404, b"no such tile\n", "text/plain")
                else:
                    self._send(200, data, "application/octet-stream")
            else:
                self._send(404, b"not found\n", "text/plain")

    return Handler


@contextmanager
def serving(log: StaticLog) -> Iterator[StaticLog]:
    """Serve `log` on a free loopback port for the duration of the block."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(log))
    log.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield log
    finally:
        httpd.shutdown()
        httpd.server_close()
