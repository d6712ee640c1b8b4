"""Blobs in an S3-compatible bucket (docs/operating.md, "Blob storage").

Chosen by `FPMREG_STORAGE_URL=s3://BUCKET/PREFIX`; the endpoint, region and credentials
are the standard ones boto3 reads (`AWS_ENDPOINT_URL_S3`, `AWS_DEFAULT_REGION`,
`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, or any other source boto3 knows). A blob is
the object `PREFIX/sha256/ab/cd/abcd…`. Uploads are staged in a local folder while they
are hashed, then sent with `If-None-Match: *` (a conditional put: an object already there
is never overwritten) and the sha256 as `x-amz-checksum-sha256`, so the server refuses
bytes damaged on the way; a HEAD afterwards checks the size (write-then-verify, also the
fallback for servers without conditional puts). Reads stream the object's body in chunks.
"""

from __future__ import annotations

import base64
import hashlib
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from fpmreg.server.storage.interface import (
    CHUNK,
    BlobInfo,
    OpenBlob,
    StagedBlob,
    Staging,
    StorageUnavailable,
    blob_key,
    named_key,
    sweep_store,
)

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

log = logging.getLogger(__name__)

# Seconds to connect and to wait for a read: a stalled store fails a request (503)
# instead of holding a worker; retried in boto3's standard mode.
CONNECT_TIMEOUT_SECONDS = 5
READ_TIMEOUT_SECONDS = 30
MAX_ATTEMPTS = 3
_MISSING = {"404", "NoSuchKey", "NotFound"}
_UNSUPPORTED = {"501", "NotImplemented"}


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", "")) or str(
        error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", "")
    )


class S3BlobStore:
    """Blobs as objects in one bucket, under one key prefix."""

    def __init__(
        self,
        bucket: str,
        prefix: str,
        staging: Path,
        *,
        addressing_style: str = "auto",
        client: S3Client | None = None,
    ) -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self._staging = Staging(staging)
        config = Config(
            connect_timeout=CONNECT_TIMEOUT_SECONDS,
            read_timeout=READ_TIMEOUT_SECONDS,
            retries={"max_attempts": MAX_ATTEMPTS, "mode": "standard"},
            s3={"addressing_style": addressing_style},  # type: ignore[arg-type]
        )
        self._client: S3Client = client or boto3.session.Session().client("s3", config=config)

    def describe(self) -> str:
        """The bucket, prefix and endpoint (never the credentials)."""
        where = f"s3://{self.bucket}/{self.prefix}".rstrip("/")
        return f"bucket {where} at {self._client.meta.endpoint_url}"

    def key_of(self, sha256: str) -> str:
        """The object key of a blob."""
        key = blob_key(sha256)
        return f"{self.prefix}/{key}" if self.prefix else key

    def _unavailable(self, action: str, error: Exception) -> StorageUnavailable:
        if isinstance(error, ClientError):
            code = _code(error)
            hint = ""
            if code in ("SignatureDoesNotMatch", "InvalidAccessKeyId", "AccessDenied", "403"):
                hint = " (check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)"
            elif code == "NoSuchBucket":
                hint = " (create the bucket, or fix FPMREG_STORAGE_URL)"
            detail = f"{action} in bucket `{self.bucket}` was refused: `{code}`{hint}"
        else:
            detail = f"{action} in bucket `{self.bucket}` failed: {type(error).__name__}"
        log.warning("blob storage: %s", detail)
        return StorageUnavailable(detail)

    def stage(self, stream: BinaryIO, max_bytes: int) -> StagedBlob:
        """Copy `stream` to a local staging file, hashing it; refuse past `max_bytes`."""
        return self._staging.stage(stream, max_bytes)

    def discard(self, staged: StagedBlob) -> None:
        """Forget a staged upload."""
        self._staging.discard(staged)

    def commit(self, staged: StagedBlob) -> None:
        """Send the staged file with a conditional put, then check what the bucket holds."""
        checksum = base64.b64encode(bytes.fromhex(staged.sha256)).decode()
        arguments: dict[str, Any] = {
            "Bucket": self.bucket,
            "Key": self.key_of(staged.sha256),
            "ContentLength": staged.size,
            "ContentType": "application/octet-stream",
            "ChecksumSHA256": checksum,
        }
        try:
            with staged.path.open("rb") as body:
                self._client.put_object(Body=body, IfNoneMatch="*", **arguments)
        except ClientError as exc:
            code = _code(exc)
            if code in _UNSUPPORTED:  # no conditional puts: write, then verify below
                self._put_plain(staged, arguments)
            elif code not in ("PreconditionFailed", "412", "ConditionalRequestConflict", "409"):
                raise self._unavailable("writing a blob", exc) from exc
            # else: the same bytes are already there (or being written): keep them
        except BotoCoreError as exc:
            raise self._unavailable("writing a blob", exc) from exc
        self._verify(staged, checksum)

    def _put_plain(self, staged: StagedBlob, arguments: dict[str, Any]) -> None:
        try:
            with staged.path.open("rb") as body:
                self._client.put_object(Body=body, **arguments)
        except (ClientError, BotoCoreError) as exc:
            raise self._unavailable("writing a blob", exc) from exc

    def _verify(self, staged: StagedBlob, checksum: str) -> None:
        """The object under the key has the staged size and, where the server kept one,
        the staged sha256 (an object planted or damaged under our key is caught)."""
        try:
            head = self._client.head_object(
                Bucket=self.bucket, Key=self.key_of(staged.sha256), ChecksumMode="ENABLED"
            )
        except ClientError as exc:
            if _code(exc) not in _MISSING:
                raise self._unavailable("checking a blob", exc) from exc
            found = "nothing"
        except BotoCoreError as exc:
            raise self._unavailable("checking a blob", exc) from exc
        else:
            kept = head.get("ChecksumSHA256", checksum)
            if head["ContentLength"] == staged.size and kept == checksum:
                return
            found = f"{head['ContentLength']} bytes with sha256 (base64) {kept}"
        detail = (
            f"blob `{staged.sha256}` in bucket `{self.bucket}` should have {staged.size} "
            f"bytes with that sha256; found {found}"
        )
        log.error("blob storage: %s", detail)
        raise StorageUnavailable(detail)

    def exists(self, sha256: str) -> bool:
        """Whether the object is there (a HEAD)."""
        return self.stat(sha256) is not None

    def stat(self, sha256: str) -> BlobInfo | None:
        """Size and modification time from a HEAD, or None."""
        try:
            head = self._client.head_object(Bucket=self.bucket, Key=self.key_of(sha256))
        except ClientError as exc:
            if _code(exc) in _MISSING:
                return None
            raise self._unavailable("reading a blob", exc) from exc
        except BotoCoreError as exc:
            raise self._unavailable("reading a blob", exc) from exc
        return BlobInfo(head["ContentLength"], head["LastModified"].timestamp())

    def open(self, sha256: str) -> OpenBlob | None:
        """A GET whose body is read in chunks as the caller iterates."""
        return self._open_key(self.key_of(sha256), "reading a blob")

    def _open_key(self, key: str, action: str) -> OpenBlob | None:
        try:
            answer = self._client.get_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if _code(exc) in _MISSING:
                return None
            raise self._unavailable(action, exc) from exc
        except BotoCoreError as exc:
            raise self._unavailable(action, exc) from exc
        body = answer["Body"]
        info = BlobInfo(answer["ContentLength"], answer["LastModified"].timestamp())
        return OpenBlob(info, body.iter_chunks(CHUNK), body.close)

    def delete(self, sha256: str) -> None:
        """Delete the object, and every version of it where the bucket keeps versions."""
        self._delete_key(self.key_of(sha256), "deleting a blob")

    def _named(self, key: str) -> str:
        return f"{self.prefix}/{named_key(key)}" if self.prefix else named_key(key)

    def put_named(self, key: str, data: bytes, content_type: str) -> None:
        """One PUT (atomic in S3), with the sha256 the server checks."""
        checksum = base64.b64encode(hashlib.sha256(data).digest()).decode()
        try:
            self._client.put_object(
                Bucket=self.bucket, Key=self._named(key), Body=data,
                ContentLength=len(data), ContentType=content_type, ChecksumSHA256=checksum,
            )  # fmt: skip
        except (ClientError, BotoCoreError) as exc:
            raise self._unavailable("writing a named object", exc) from exc

    def open_named(self, key: str) -> OpenBlob | None:
        """A GET of the named object, read in chunks."""
        return self._open_key(self._named(key), "reading a named object")

    def delete_named(self, key: str) -> None:
        """Delete the named object and its versions."""
        self._delete_key(self._named(key), "deleting a named object")

    def _delete_key(self, key: str, action: str) -> None:
        try:
            versions = self._versions(key)
            if all(v == "null" for v in versions):  # not versioned: one plain delete
                self._client.delete_object(Bucket=self.bucket, Key=key)
                return
            for version in versions:
                self._client.delete_object(Bucket=self.bucket, Key=key, VersionId=version)
        except (ClientError, BotoCoreError) as exc:
            raise self._unavailable(action, exc) from exc

    def _versions(self, key: str) -> list[str]:
        """Ids of the versions and delete markers a versioned bucket keeps of `key`."""
        try:
            listing = self._client.list_object_versions(Bucket=self.bucket, Prefix=key)
        except ClientError as exc:
            if _code(exc) in _UNSUPPORTED:
                return []
            raise
        entries = [*listing.get("Versions", []), *listing.get("DeleteMarkers", [])]
        return [e.get("VersionId") or "null" for e in entries if e.get("Key") == key]

    def iter_blobs(self) -> Iterator[tuple[str, float]]:
        """Every object under `PREFIX/sha256/`, by page."""
        start = f"{self.prefix}/sha256/" if self.prefix else "sha256/"
        try:
            pages = self._client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=start
            )
            for page in pages:
                for entry in page.get("Contents", []):
                    name = entry["Key"].rpartition("/")[2]
                    if len(name) == 64:
                        yield name, entry["LastModified"].timestamp()
        except (ClientError, BotoCoreError) as exc:
            raise self._unavailable("listing blobs", exc) from exc

    def sweep_orphans(self, owned: set[str], grace_seconds: int) -> list[str]:
        """Remove objects not in `owned` and local staging files older than the grace."""
        return sweep_store(self, self._staging, owned, grace_seconds)
