"""What every blob store offers (docs/operating.md, "Blob storage"), and the staging both share.

Blobs are content-addressed: a tarball's key is its sha256, under `sha256/ab/cd/abcd…`
in a folder or a bucket. An upload is first staged in a local folder while its hash is
computed; `commit` then makes it visible under its address in one atomic step, so a
reader never sees a partial blob.
"""

from __future__ import annotations

import hashlib
import os
import re
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Protocol

from fpmreg.server.errors import Unavailable

CHUNK = 1024 * 1024  # bytes read or sent at a time: an upload is never held whole in memory


class BlobTooLarge(Exception):
    """The staged stream went over its size limit."""


STORAGE_UNAVAILABLE = "storage-unavailable"


class StorageUnavailable(Unavailable):
    """The store did not answer, refused our credentials, or holds a damaged blob (503)."""

    def __init__(self, detail: str) -> None:
        super().__init__(STORAGE_UNAVAILABLE, f"blob storage is unavailable: {detail}")


@dataclass(frozen=True, slots=True)
class StagedBlob:
    """A fully written upload, not yet visible under its content address."""

    path: Path
    sha256: str
    size: int


@dataclass(frozen=True, slots=True)
class BlobInfo:
    """A stored blob's size and modification time; `path` where it is a local file."""

    size: int
    modified: float
    path: Path | None = None


@dataclass(slots=True)
class OpenBlob:
    """A blob being read: iterate for its bytes in chunks, then `close` (or use `with`)."""

    info: BlobInfo
    chunks: Iterator[bytes]
    close: Callable[[], None] = field(default=lambda: None)

    def __iter__(self) -> Iterator[bytes]:
        try:
            yield from self.chunks
        finally:
            self.close()

    def __enter__(self) -> OpenBlob:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def read(self) -> bytes:
        """The whole blob (only for small ones: `TarballCache` keeps those in memory)."""
        return b"".join(self)


class BlobStore(Protocol):
    """Content-addressed blobs: a local folder (`FilesystemBlobStore`) or S3 (`S3BlobStore`)."""

    def stage(self, stream: BinaryIO, max_bytes: int) -> StagedBlob:
        """Copy `stream` to a local staging file, hashing it; refuse past `max_bytes`."""
        ...

    def discard(self, staged: StagedBlob) -> None:
        """Forget a staged upload (committed or not)."""
        ...

    def commit(self, staged: StagedBlob) -> None:
        """Make a staged blob visible under its sha256, atomically; a blob already
        there (the same bytes) is kept as it is."""
        ...

    def exists(self, sha256: str) -> bool:
        """Whether the blob is stored."""
        ...

    def stat(self, sha256: str) -> BlobInfo | None:
        """The blob's size and age, or None if it is not stored."""
        ...

    def open(self, sha256: str) -> OpenBlob | None:
        """The blob's bytes as a stream of chunks, or None if it is not stored."""
        ...

    def delete(self, sha256: str) -> None:
        """Remove the blob for good (every stored version of it); nothing if absent."""
        ...

    def iter_blobs(self) -> Iterator[tuple[str, float]]:
        """Every stored blob's hash and modification time."""
        ...

    def sweep_orphans(self, owned: set[str], grace_seconds: int) -> list[str]:
        """Remove blobs not in `owned` and staging files, older than the grace."""
        ...

    def describe(self) -> str:
        """Where the blobs are, for operators (no credentials)."""
        ...

    def put_named(self, key: str, data: bytes, content_type: str) -> None:
        """Store `data` under a named key (`named_key`), replacing what was there in
        one step: a reader sees the old bytes or the new, never a part."""
        ...

    def open_named(self, key: str) -> OpenBlob | None:
        """A named object's bytes, or None if it is not stored."""
        ...

    def delete_named(self, key: str) -> None:
        """Remove a named object for good; nothing if absent."""
        ...


def blob_key(sha256: str) -> str:
    """A blob's relative address: `sha256/ab/cd/abcd…` (the same in a folder and a bucket)."""
    return f"sha256/{sha256[:2]}/{sha256[2:4]}/{sha256}"


# Named objects (the daily dumps, docs/dumps.md) live beside the content-addressed blobs:
# `FOLDER/NAME`, one level, a folder that is not the blobs' or staging's, and a name of
# letters, digits, `.`, `_` and `-` that does not start with a dot.
_NAMED_KEY = re.compile(r"(?!sha256/|tmp/)[a-z][a-z0-9-]{0,31}/[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}")


def named_key(key: str) -> str:
    """`key` if it is a valid named key, else `ValueError` (callers pass fixed names)."""
    if not _NAMED_KEY.fullmatch(key):
        raise ValueError(f"`{key}` is not a named storage key")
    return key


class Staging:
    """The local folder uploads are written to while they are hashed (`*.part` files)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)

    def stage(self, stream: BinaryIO, max_bytes: int) -> StagedBlob:
        """Copy `stream` to a new staging file, hashing it; refuse past `max_bytes`."""
        path = self.folder / f"{uuid.uuid4().hex}.part"
        digest = hashlib.sha256()
        size = 0
        try:
            with path.open("xb") as out:
                while chunk := stream.read(CHUNK):
                    size += len(chunk)
                    if size > max_bytes:
                        raise BlobTooLarge
                    digest.update(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        return StagedBlob(path, digest.hexdigest(), size)

    def discard(self, staged: StagedBlob) -> None:
        """Remove a staging file if it is still there."""
        staged.path.unlink(missing_ok=True)

    def sweep(self, cutoff: float) -> None:
        """Remove staging files last written before `cutoff` (left by a crash)."""
        for part in self.folder.glob("*.part"):
            if part.stat().st_mtime <= cutoff:
                part.unlink(missing_ok=True)


def sweep_store(
    store: BlobStore, staging: Staging, owned: set[str], grace_seconds: int
) -> list[str]:
    """`sweep_orphans` for any store: blobs and staging files past the grace go."""
    cutoff = time.time() - grace_seconds
    removed = []
    for sha256, modified in list(store.iter_blobs()):
        if sha256 not in owned and modified <= cutoff:
            store.delete(sha256)
            removed.append(sha256)
    staging.sweep(cutoff)
    return removed
