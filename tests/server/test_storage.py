"""One behaviour suite for every blob store: a local folder and S3 (SeaweedFS).

Each test runs against both stores, built from settings as the server builds them
(docs/operating.md, "Blob storage").
"""

from __future__ import annotations

import hashlib
import io
import os
import time
import uuid
from pathlib import Path

import pytest

from fpmreg.server.settings import Environment, Settings
from fpmreg.server.storage import (
    BlobStore,
    BlobTooLarge,
    FilesystemBlobStore,
    StagedBlob,
    blob_key,
    build_store,
)
from fpmreg.server.storage.s3 import S3BlobStore
from tests.support.seaweed import S3Server, seaweed  # noqa: F401

MiB = 1024 * 1024


def s3_settings(
    server: S3Server, local: Path, monkeypatch: pytest.MonkeyPatch, prefix: str = ""
) -> Settings:
    """Settings (and the AWS_* variables boto3 reads) for a fresh prefix of the bucket."""
    environment = server.environment(prefix or f"t{uuid.uuid4().hex[:10]}")
    for key, value in environment.items():
        if key.startswith("AWS_"):
            monkeypatch.setenv(key, value)
    return Settings(
        env=Environment.TEST,
        storage_path=local,
        storage_url=environment["FPMREG_STORAGE_URL"],
    )


@pytest.fixture(params=["filesystem", "s3"])
def blobs(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> BlobStore:
    """A fresh, empty store of each kind."""
    if request.param == "filesystem":
        settings = Settings(env=Environment.TEST, storage_path=tmp_path / "blobs")
    else:
        server: S3Server = request.getfixturevalue("seaweed")
        settings = s3_settings(server, tmp_path / "blobs", monkeypatch)
    return build_store(settings)


def stored(store: BlobStore, data: bytes) -> StagedBlob:
    """Stage and commit `data`, as a publish does."""
    staged = store.stage(io.BytesIO(data), max_bytes=len(data) + 1)
    try:
        store.commit(staged)
    finally:
        store.discard(staged)
    return staged


def staging_files(store: BlobStore) -> list[Path]:
    folder = store._staging.folder  # type: ignore[attr-defined]
    return list(folder.glob("*"))


def test_settings_pick_the_store(blobs: BlobStore) -> None:
    assert isinstance(blobs, (FilesystemBlobStore, S3BlobStore))
    assert "secret" not in blobs.describe().lower()


def test_a_committed_blob_streams_back_in_chunks_under_its_sha256(blobs: BlobStore) -> None:
    data = os.urandom(2 * MiB + 12345)
    staged = stored(blobs, data)

    assert staged.sha256 == hashlib.sha256(data).hexdigest()
    assert staged.size == len(data)
    assert blobs.exists(staged.sha256)
    info = blobs.stat(staged.sha256)
    assert info is not None and info.size == len(data)
    assert abs(info.modified - time.time()) < 120
    blob = blobs.open(staged.sha256)
    assert blob is not None
    chunks = list(blob)
    assert len(chunks) >= 3  # streamed, never one read of the whole object
    assert max(len(c) for c in chunks) <= MiB
    assert b"".join(chunks) == data
    assert [sha for sha, _ in blobs.iter_blobs()] == [staged.sha256]
    assert staging_files(blobs) == []  # nothing staged is left behind


def test_blobs_are_content_addressed(blobs: BlobStore) -> None:
    first = stored(blobs, b"the same bytes")
    again = stored(blobs, b"the same bytes")  # a second publish of identical bytes
    other = stored(blobs, b"other bytes")

    assert first.sha256 == again.sha256 != other.sha256
    assert sorted(sha for sha, _ in blobs.iter_blobs()) == sorted({first.sha256, other.sha256})
    blob = blobs.open(first.sha256)
    assert blob is not None and blob.read() == b"the same bytes"


def test_a_stream_over_the_limit_is_refused_and_leaves_nothing(blobs: BlobStore) -> None:
    with pytest.raises(BlobTooLarge):
        blobs.stage(io.BytesIO(b"x" * 5000), max_bytes=4096)
    assert staging_files(blobs) == []
    assert list(blobs.iter_blobs()) == []


def test_a_staged_blob_is_invisible_until_committed(blobs: BlobStore) -> None:
    staged = blobs.stage(io.BytesIO(b"not yet"), max_bytes=100)
    assert not blobs.exists(staged.sha256)
    assert blobs.open(staged.sha256) is None
    blobs.discard(staged)
    assert not blobs.exists(staged.sha256)
    assert staging_files(blobs) == []


def test_delete_removes_the_blob_for_good(blobs: BlobStore) -> None:
    kept = stored(blobs, b"kept")
    gone = stored(blobs, b"deleted")

    blobs.delete(gone.sha256)
    blobs.delete(gone.sha256)  # deleting what is absent is no error

    assert not blobs.exists(gone.sha256)
    assert blobs.stat(gone.sha256) is None
    assert blobs.open(gone.sha256) is None
    assert [sha for sha, _ in blobs.iter_blobs()] == [kept.sha256]
    if isinstance(blobs, FilesystemBlobStore):
        assert not blobs.path_of(gone.sha256).exists()


def test_the_sweep_removes_only_unowned_blobs_past_the_grace(blobs: BlobStore) -> None:
    owned = stored(blobs, b"a version owns this")
    orphan = stored(blobs, b"a crashed upload left this")
    stale = blobs.stage(io.BytesIO(b"half an upload"), max_bytes=100)

    assert blobs.sweep_orphans({owned.sha256}, grace_seconds=3600) == []  # too young
    assert blobs.exists(orphan.sha256)

    assert blobs.sweep_orphans({owned.sha256}, grace_seconds=0) == [orphan.sha256]
    assert not blobs.exists(orphan.sha256)
    assert blobs.exists(owned.sha256)
    assert not stale.path.exists()


def test_the_key_layout_is_the_same_in_a_folder_and_a_bucket(blobs: BlobStore) -> None:
    staged = stored(blobs, b"layout")
    key = blob_key(staged.sha256)
    assert key == f"sha256/{staged.sha256[:2]}/{staged.sha256[2:4]}/{staged.sha256}"
    if isinstance(blobs, FilesystemBlobStore):
        assert (blobs.root / key).read_bytes() == b"layout"  # nginx may serve this folder
    else:
        assert isinstance(blobs, S3BlobStore)
        assert blobs.key_of(staged.sha256) == f"{blobs.prefix}/{key}"


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("s3://", "bucket name only"),
        ("s3://key:secret@bucket/p", "bucket name only"),
        ("gs://bucket", "must be `file:///path` or `s3://bucket/prefix`"),
        ("file://relative/path", "file:///absolute/path"),
        ("s3://bucket/p?addressing_style=sideways", "addressing_style is one of"),
        ("s3://bucket/p?endpoint=x", "unknown option(s) endpoint"),
    ],
)
def test_a_malformed_storage_url_is_refused_at_start_up(url: str, problem: str) -> None:
    with pytest.raises(ValueError, match="FPMREG_STORAGE_URL") as caught:
        Settings(env=Environment.TEST, storage_url=url)
    assert problem in str(caught.value)
    assert "secret" not in str(caught.value)


def test_a_file_url_names_the_folder(tmp_path: Path) -> None:
    folder = tmp_path / "elsewhere"
    store = build_store(
        Settings(env=Environment.TEST, storage_path=tmp_path / "x", storage_url=f"file://{folder}")
    )
    assert isinstance(store, FilesystemBlobStore)
    staged = stored(store, b"here")
    assert (folder / blob_key(staged.sha256)).read_bytes() == b"here"


def test_a_named_object_is_replaced_whole_and_deleted(blobs: BlobStore) -> None:
    # The daily dumps (docs/dumps.md) live beside the blobs under a fixed folder.
    blobs.put_named("dumps/index.json", b'{"a": 1}', "application/json")
    blobs.put_named("dumps/index.json", b'{"a": 2}', "application/json")
    opened = blobs.open_named("dumps/index.json")
    assert opened is not None and opened.read() == b'{"a": 2}'
    assert opened.info.size == 8
    assert list(blobs.iter_blobs()) == []  # not a blob: the orphan sweep never sees it
    blobs.delete_named("dumps/index.json")
    blobs.delete_named("dumps/index.json")  # absent: nothing
    assert blobs.open_named("dumps/index.json") is None


@pytest.mark.parametrize(
    "key", ["dumps/../sha256/x", "sha256/ab", "tmp/x.part", "dumps/.hidden", "/dumps/x", "x"]
)
def test_a_named_key_outside_its_folder_is_refused(blobs: BlobStore, key: str) -> None:
    with pytest.raises(ValueError, match="not a named storage key"):
        blobs.put_named(key, b"x", "text/plain")
