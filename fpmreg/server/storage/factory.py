"""The blob store the settings name (docs/operating.md, "Blob storage")."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from fpmreg.server.settings import Settings
from fpmreg.server.storage.filesystem import FilesystemBlobStore
from fpmreg.server.storage.interface import BlobStore

ADDRESSING_STYLES = ("auto", "path", "virtual")  # botocore's `s3.addressing_style`


def parse_storage_url(url: str) -> tuple[str, str, str]:
    """`(scheme, location, addressing_style)` of `FPMREG_STORAGE_URL`; `ValueError` says
    what is wrong. `file:///path` gives the folder; `s3://bucket/prefix` the bucket and
    prefix joined by `/`; the empty URL is `("file", "", "auto")` (the storage path)."""
    if not url:
        return "file", "", "auto"
    parts = urlsplit(url)
    if parts.scheme == "file":
        if parts.netloc not in ("", "localhost") or not parts.path.startswith("/"):
            raise ValueError("FPMREG_STORAGE_URL: write a folder as `file:///absolute/path`")
        return "file", unquote(parts.path), "auto"
    if parts.scheme != "s3":
        raise ValueError("FPMREG_STORAGE_URL must be `file:///path` or `s3://bucket/prefix`")
    if not parts.netloc or "@" in parts.netloc or ":" in parts.netloc:
        raise ValueError(
            "FPMREG_STORAGE_URL: `s3://` takes a bucket name only (`s3://bucket/prefix`); "
            "the endpoint and credentials come from AWS_ENDPOINT_URL_S3, AWS_ACCESS_KEY_ID "
            "and AWS_SECRET_ACCESS_KEY"
        )
    query = parse_qs(parts.query)
    unknown = sorted(set(query) - {"addressing_style"})
    if unknown:
        raise ValueError(f"FPMREG_STORAGE_URL: unknown option(s) {', '.join(unknown)}")
    style = query.get("addressing_style", ["auto"])[-1]
    if style not in ADDRESSING_STYLES:
        raise ValueError(
            f"FPMREG_STORAGE_URL: addressing_style is one of {', '.join(ADDRESSING_STYLES)}"
        )
    return "s3", f"{parts.netloc}/{parts.path.strip('/')}".rstrip("/"), style


def build_store(settings: Settings) -> BlobStore:
    """A folder (`FPMREG_STORAGE_PATH`, or a `file://` URL) or an S3 bucket."""
    scheme, location, style = parse_storage_url(settings.storage_url)
    if scheme == "file":
        return FilesystemBlobStore(Path(location) if location else settings.storage_path)
    from fpmreg.server.storage.s3 import S3BlobStore  # boto3 only when it is used

    bucket, _, prefix = location.partition("/")
    # Uploads are staged (hashed and checked) on local disk before they go to the bucket.
    return S3BlobStore(bucket, prefix, settings.storage_path / "tmp", addressing_style=style)
