"""Content-addressed blob storage on the filesystem, with atomic writes.

A blob lives at `{root}/sha256/ab/cd/abcd…`. Uploads are staged under `{root}/tmp/`
while their hash is computed, then moved into place with `os.replace`, so a reader
never sees a partial blob. A blob no version owns is removed by `sweep_orphans`.
"""

from __future__ import annotations

import hashlib
import os
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

_CHUNK = 1024 * 1024


class BlobTooLarge(Exception):
    """The staged stream went over its size limit."""


@dataclass(frozen=True, slots=True)
class StagedBlob:
    """A fully written upload, not yet visible under its content address."""

    path: Path
    sha256: str
    size: int


class BlobStore:
    """Blobs on a local filesystem."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._tmp = root / "tmp"
        self._blobs = root / "sha256"
        self._tmp.mkdir(parents=True, exist_ok=True)
        self._blobs.mkdir(parents=True, exist_ok=True)

    def path_of(self, sha256: str) -> Path:
        """Where the blob with this hash lives (whether or not it exists)."""
        return self._blobs / sha256[:2] / sha256[2:4] / sha256

    def stage(self, stream: BinaryIO, max_bytes: int) -> StagedBlob:
        """Copy `stream` to a staging file, hashing it; refuse past `max_bytes`."""
        path = self._tmp / f"{uuid.uuid4().hex}.part"
        digest = hashlib.sha256()
        size = 0
        try:
            with path.open("xb") as out:
                while chunk := stream.read(_CHUNK):
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
        """Forget a staged upload."""
        staged.path.unlink(missing_ok=True)

    def commit(self, staged: StagedBlob) -> Path:
        """Move a staged blob to its content address, atomically."""
        target = self.path_of(staged.sha256)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(staged.path, target)
        directory = os.open(target.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
        return target

    def delete(self, sha256: str) -> None:
        """Remove a blob if present."""
        self.path_of(sha256).unlink(missing_ok=True)

    def exists(self, sha256: str) -> bool:
        """Whether the blob is stored."""
        return self.path_of(sha256).is_file()

    def iter_blobs(self) -> Iterator[tuple[str, float]]:
        """Every stored blob's hash and modification time."""
        for path in self._blobs.glob("*/*/*"):
            if path.is_file():
                yield path.name, path.stat().st_mtime

    def sweep_orphans(self, owned: set[str], grace_seconds: int) -> list[str]:
        """Remove blobs not in `owned` and stale staging files older than the grace."""
        cutoff = time.time() - grace_seconds
        removed = []
        for sha256, mtime in list(self.iter_blobs()):
            if sha256 not in owned and mtime <= cutoff:
                self.delete(sha256)
                removed.append(sha256)
        for part in self._tmp.glob("*.part"):
            if part.stat().st_mtime <= cutoff:
                part.unlink(missing_ok=True)
        return removed
