"""Blobs in a local folder, the embedded default (docs/operating.md, "Blob storage").

A blob lives at `{root}/sha256/ab/cd/abcd…`. Uploads are staged under `{root}/tmp/`
while their hash is computed, then moved into place with `os.replace` (atomic on one
filesystem) and the folder is fsynced, so a reader never sees a partial blob. A reverse
proxy may serve `{root}/sha256/` directly: this layout is part of the interface.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from fpmreg.server.storage.interface import (
    CHUNK,
    BlobInfo,
    OpenBlob,
    StagedBlob,
    Staging,
    blob_key,
    named_key,
    sweep_store,
)


class FilesystemBlobStore:
    """Blobs on a local filesystem."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._staging = Staging(root / "tmp")
        self._blobs = root / "sha256"
        self._blobs.mkdir(parents=True, exist_ok=True)

    def describe(self) -> str:
        """The folder."""
        return f"folder {self.root.resolve()}"

    def path_of(self, sha256: str) -> Path:
        """Where the blob with this hash lives (whether or not it exists)."""
        return self.root / blob_key(sha256)

    def stage(self, stream: BinaryIO, max_bytes: int) -> StagedBlob:
        """Copy `stream` to a staging file, hashing it; refuse past `max_bytes`."""
        return self._staging.stage(stream, max_bytes)

    def discard(self, staged: StagedBlob) -> None:
        """Forget a staged upload."""
        self._staging.discard(staged)

    def commit(self, staged: StagedBlob) -> None:
        """Move a staged blob to its content address, atomically."""
        target = self.path_of(staged.sha256)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(staged.path, target)
        _fsync_folder(target.parent)

    def delete(self, sha256: str) -> None:
        """Remove a blob if present."""
        self.path_of(sha256).unlink(missing_ok=True)

    def exists(self, sha256: str) -> bool:
        """Whether the blob is stored."""
        return self.path_of(sha256).is_file()

    def stat(self, sha256: str) -> BlobInfo | None:
        """Size and modification time of the file, or None."""
        path = self.path_of(sha256)
        try:
            found = path.stat()
        except FileNotFoundError:
            return None
        return BlobInfo(found.st_size, found.st_mtime, path)

    def open(self, sha256: str) -> OpenBlob | None:
        """The file, read in chunks."""
        path = self.path_of(sha256)
        try:
            handle = path.open("rb")
        except FileNotFoundError:
            return None
        found = os.fstat(handle.fileno())
        chunks = iter(lambda: handle.read(CHUNK), b"")
        return OpenBlob(BlobInfo(found.st_size, found.st_mtime, path), chunks, handle.close)

    def put_named(self, key: str, data: bytes, content_type: str) -> None:
        """Write a temporary file beside the target, fsync it and rename it into place."""
        del content_type  # a folder keeps no types; the routes set them
        target = self.root / named_key(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_name(f".{uuid.uuid4().hex}.part")
        try:
            with temporary.open("xb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, target)
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise
        _fsync_folder(target.parent)

    def open_named(self, key: str) -> OpenBlob | None:
        """The named file, read in chunks."""
        path = self.root / named_key(key)
        try:
            handle = path.open("rb")
        except (FileNotFoundError, IsADirectoryError):
            return None
        found = os.fstat(handle.fileno())
        chunks = iter(lambda: handle.read(CHUNK), b"")
        return OpenBlob(BlobInfo(found.st_size, found.st_mtime, path), chunks, handle.close)

    def delete_named(self, key: str) -> None:
        """Remove the named file if present."""
        (self.root / named_key(key)).unlink(missing_ok=True)

    def iter_blobs(self) -> Iterator[tuple[str, float]]:
        """Every stored blob's hash and modification time."""
        for path in self._blobs.glob("*/*/*"):
            if path.is_file():
                yield path.name, path.stat().st_mtime

    def sweep_orphans(self, owned: set[str], grace_seconds: int) -> list[str]:
        """Remove blobs not in `owned` and stale staging files older than the grace."""
        return sweep_store(self, self._staging, owned, grace_seconds)


def _fsync_folder(folder: Path) -> None:
    """Make a rename in `folder` durable."""
    directory = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
