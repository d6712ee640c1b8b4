"""The registry's resolver index over HTTP, and the client's cache folder.

`fpmreg lock` asks for one package at a time, as the resolver reaches it:
`GET /api/v1/index/{ns}/{name}` (every version with sha256, yanked flag, dependencies
and ranges). Each document is fetched once per run, and kept on disk with its `ETag`
so the next run sends `If-None-Match` and gets a bodyless `304` when nothing changed.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from threading import Lock

import httpx
from pydantic import ValidationError

from fpmreg.client.environment import cache_root as cache_root
from fpmreg.client.errors import ClientError
from fpmreg.client.registry import (
    READ_TIMEOUT,
    USER_AGENT,
    get,
    parse_answer,
    refusal,
    request_headers,
)
from fpmreg.core.resolve import IndexVersion
from fpmreg.core.wire.errors import ErrorEnvelope
from fpmreg.core.wire.index import IndexDocument, IndexEntry

INDEX_FOLDER = "index"
# An index document lists every version of one package; far below this.
MAX_INDEX_BYTES = 16 * 1024 * 1024


def write_atomically(path: Path, data: bytes) -> None:
    """Write `data` to `path` through a temp file and a rename: never half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def new_client(registry: str, agent: str = USER_AGENT) -> httpx.Client:
    """An httpx client for the public read endpoints of `registry` (no token)."""
    return httpx.Client(
        base_url=registry,
        headers=request_headers(agent=agent),
        timeout=READ_TIMEOUT,
        follow_redirects=False,
    )


def _is_envelope(response: httpx.Response) -> bool:
    """Whether an error answer is the registry's own (not some other server's 404 page)."""
    try:
        ErrorEnvelope.model_validate_json(response.content)
    except ValidationError:
        return False
    return True


def _entry(entry: IndexEntry) -> IndexVersion:
    return IndexVersion(
        version=entry.version,
        sha256=entry.sha256,
        yanked=entry.yanked,
        dependencies=tuple(d.model_dump() for d in entry.dependencies),
        ranges=dict(entry.ranges),
        download_url=entry.download_url,
    )


class HttpIndex:
    """An `Index` (`fpmreg.core.resolve`) reading the registry's `/api/v1/index`."""

    def __init__(self, registry: str, client: httpx.Client, cache: Path | None = None) -> None:
        self.registry = registry
        self.client = client
        self.cache = cache
        self.fetched: dict[tuple[str, str], list[IndexVersion]] = {}
        self.documents: dict[tuple[str, str], IndexDocument | None] = {}
        self.requests = 0
        self.revalidated = 0  # answered `304 Not Modified` from the on-disk cache
        self._lock = Lock()

    def _cache_file(self, url: str) -> Path | None:
        if self.cache is None:
            return None
        return self.cache / INDEX_FOLDER / (hashlib.sha256(url.encode()).hexdigest() + ".json")

    def _cached(self, path: Path | None) -> tuple[str, IndexDocument] | None:
        if path is None:
            return None
        try:
            entry = json.loads(path.read_text(encoding="utf-8"))
            etag = entry["etag"]
            document = IndexDocument.model_validate(entry["document"])
        except (OSError, ValueError, KeyError, TypeError):
            return None  # absent or damaged (ValidationError is a ValueError): fetch it whole
        return (etag, document) if isinstance(etag, str) else None

    def document(self, namespace: str, name: str) -> IndexDocument | None:
        """The index document of `namespace/name`, None when the registry has no such
        package. Raises `ClientError` when the registry cannot be read."""
        path = f"/api/v1/index/{namespace}/{name}"
        url = self.registry + path
        cache_file = self._cache_file(url)
        cached = self._cached(cache_file)
        headers = {"If-None-Match": cached[0]} if cached else {}
        # Retried when there is no answer; `RegistryUnreachable` names the registry once.
        response = get(self.client, path, headers=headers)
        self.requests += 1
        if response.status_code == 304 and cached is not None:
            self.revalidated += 1
            return cached[1]
        if response.status_code == 404 and _is_envelope(response):
            return None  # the registry says it has no such package
        if response.status_code != 200:
            raise refusal(response)
        if len(response.content) > MAX_INDEX_BYTES:
            raise ClientError(f"the index of `{namespace}/{name}` is implausibly large")
        document = parse_answer(response, IndexDocument)
        etag = response.headers.get("ETag")
        if cache_file is not None and etag:
            entry = {"url": url, "etag": etag, "document": document.model_dump()}
            # A read-only cache only costs a full download next time.
            with contextlib.suppress(OSError):
                write_atomically(cache_file, json.dumps(entry, ensure_ascii=False).encode())
        return document

    def document_of(self, namespace: str, name: str) -> IndexDocument | None:
        """`document`, fetched at most once per run (shared with `versions`)."""
        key = (namespace, name)
        with self._lock:
            if key not in self.documents:
                self.documents[key] = self.document(namespace, name)
            return self.documents[key]

    def versions(self, namespace: str, name: str) -> Sequence[IndexVersion]:
        """Every version of `namespace/name`, yanked ones included; empty if unknown."""
        key = (namespace, name)
        document = self.document_of(namespace, name)
        with self._lock:
            if key not in self.fetched:
                entries = document.versions if document else []
                self.fetched[key] = [_entry(e) for e in entries]
            return self.fetched[key]
