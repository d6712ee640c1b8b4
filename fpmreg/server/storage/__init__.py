"""Content-addressed blob storage behind one interface: a local folder or an S3 bucket.

`BlobStore` is the interface (docs/operating.md, "Blob storage"); `build_store` picks
the implementation the settings name.
"""

from fpmreg.server.storage.factory import build_store, parse_storage_url
from fpmreg.server.storage.filesystem import FilesystemBlobStore
from fpmreg.server.storage.interface import (
    BlobInfo,
    BlobStore,
    BlobTooLarge,
    OpenBlob,
    StagedBlob,
    StorageUnavailable,
    blob_key,
)

__all__ = [
    "BlobInfo",
    "BlobStore",
    "BlobTooLarge",
    "FilesystemBlobStore",
    "OpenBlob",
    "StagedBlob",
    "StorageUnavailable",
    "blob_key",
    "build_store",
    "parse_storage_url",
]
