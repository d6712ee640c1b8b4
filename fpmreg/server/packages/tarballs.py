"""Tarball bytes out of the blob store, streamed, with the same headers from every store.

A folder's blob goes out as a `FileResponse` (sendfile, range requests); a bucket's is
streamed through the app chunk by chunk, never read whole (docs/operating.md, "Blob
storage"). Either way the answer carries the digest, immutability, file name, length
and modification time; a blob missing from storage is a 404 that tells the operator,
an unreachable store a 503.
"""

from __future__ import annotations

from email.utils import formatdate

from fastapi.responses import FileResponse, Response, StreamingResponse

from fpmreg.server.errors import NotFound
from fpmreg.server.storage import BlobInfo, BlobStore

MEDIA_TYPE = "application/gzip"


def _missing(sha256: str) -> NotFound:
    return NotFound(
        "blob-missing",
        f"the tarball (blob `{sha256}`) is missing from storage: tell the operator",
    )


def stored_info(store: BlobStore, sha256: str) -> BlobInfo:
    """The blob's size and age; `NotFound` if storage lost it."""
    info = store.stat(sha256)
    if info is None:
        raise _missing(sha256)
    return info


def read_small(store: BlobStore, sha256: str) -> bytes:
    """A whole (small) blob's bytes, for the in-memory tarball cache."""
    blob = store.open(sha256)
    if blob is None:
        raise _missing(sha256)
    return blob.read()


def tarball_response(
    store: BlobStore, sha256: str, headers: dict[str, str], *, head: bool = False
) -> Response:
    """The tarball answer: `headers` (`tarball_headers`) plus length and date."""
    if head:
        info = stored_info(store, sha256)
        if info.path is not None:
            return FileResponse(info.path, media_type=MEDIA_TYPE, headers=headers)
        return Response(media_type=MEDIA_TYPE, headers=_sized(headers, info))
    blob = store.open(sha256)
    if blob is None:
        raise _missing(sha256)
    if blob.info.path is not None:
        blob.close()  # a local file: sent by the server itself (sendfile, ranges)
        return FileResponse(blob.info.path, media_type=MEDIA_TYPE, headers=headers)
    return StreamingResponse(blob, media_type=MEDIA_TYPE, headers=_sized(headers, blob.info))


def _sized(headers: dict[str, str], info: BlobInfo) -> dict[str, str]:
    """What a `FileResponse` adds itself: the length and the modification date."""
    return {
        **headers,
        "Content-Length": str(info.size),
        "Last-Modified": formatdate(info.modified, usegmt=True),
    }
