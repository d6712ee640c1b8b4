"""Crash safety of uploads, with real server processes that die mid-publish.

The crashing server is the real app built by a test-only entry point
(`tests.support.crashing_app`) whose publish hooks make the process exit hard (as a
power cut would) at one step of a publish. After a restart on the same database and
blob folder, a version is either wholly there (tarball downloads, digest matches) or
not there at all, and the start-up sweep (grace 0 here) leaves no orphan blob and no
staging file. The `after-commit` crash also shows the commit happens before the answer.
"""

from __future__ import annotations

import hashlib
import os
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from fpmreg.server.db import Database, make_engine
from fpmreg.server.storage import FilesystemBlobStore
from tests.factories import Publisher, make_publisher, publish
from tests.support.crashing_app import CRASH_ENV, CRASH_POINTS
from tests.support.databases import backend_name, fresh_database
from tests.support.live import LiveServer
from tests.support.tarballs import fpm_publish_form, package_tarball

NAMESPACE = "crashns"
SWEEP_AT_START = {"FPMREG_ORPHAN_GRACE_SECONDS": "0"}
TIMEOUT = 60


# Helpers ------------------------------------------------------------------------------


def fpm_publish(
    base_url: str, token: str, data: bytes, version: str, name: str = "hello"
) -> httpx.Response:
    """Upload as `fpm publish` does."""
    return httpx.post(
        f"{base_url}/packages",
        **fpm_publish_form(name, version, "MIT", token, data),
        timeout=TIMEOUT,
    )


def blob_hashes(storage: Path) -> set[str]:
    """Hashes of the blob files in the store."""
    return {p.name for p in (storage / "sha256").glob("**/*") if p.is_file()}


def staging_files(storage: Path) -> list[Path]:
    """Files an upload left in the staging folder."""
    return sorted((storage / "tmp").glob("*"))


def api_versions(base_url: str, name: str = "hello") -> dict[str, str] | None:
    """Version → sha256 as the API shows them, or None when the package does not exist."""
    response = httpx.get(f"{base_url}/api/v1/packages/{NAMESPACE}/{name}", timeout=TIMEOUT)
    if response.status_code == 404:
        return None
    assert response.status_code == 200, response.text
    return {v["version"]: v["sha256"] for v in response.json()["versions"]}


def download(base_url: str, version: str, name: str = "hello") -> bytes:
    """The tarball at the `download_url` fpm is given."""
    meta = httpx.get(f"{base_url}/packages/{NAMESPACE}/{name}/{version}", timeout=TIMEOUT)
    assert meta.status_code == 200, meta.text
    url = meta.json()["data"]["version_data"]["download_url"]
    response = httpx.get(base_url + url, timeout=TIMEOUT)
    assert response.status_code == 200, response.text
    return response.content


def seed(database_url: str, storage: Path, *versions: str) -> tuple[Publisher, dict[str, str]]:
    """A publisher in `crashns`, with `hello` already published at `versions`."""
    database = Database.from_url(database_url)
    try:
        with database.session() as session:
            publisher = make_publisher(session, namespace=NAMESPACE)
            session.commit()
            shas = {
                v: publish(session, FilesystemBlobStore(storage), publisher, "hello", v).sha256
                for v in versions
            }
            return publisher, shas
    finally:
        database.engine.dispose()


def child_pids(pid: int) -> list[int]:
    """The processes whose parent is `pid` (gunicorn's workers)."""
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == pid:
            children.append(int(stat.parent.name))
    return children


def kill_hard(server: LiveServer) -> None:
    """`kill -9` the server: its workers (which hold the requests) and its master."""
    assert server.process is not None
    workers = child_pids(server.process.pid)
    for pid in workers:
        os.kill(pid, signal.SIGKILL)
    server.stop(signal.SIGKILL)
    deadline = time.monotonic() + TIMEOUT
    while any(Path(f"/proc/{pid}").exists() and _alive(pid) for pid in workers):
        assert time.monotonic() < deadline, "killed workers did not die"
        time.sleep(0.05)


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def multipart(token: str, data: bytes, version: str) -> tuple[bytes, str]:
    """fpm's upload as raw bytes, and its Content-Type."""
    request = httpx.Request(
        "POST",
        "http://x/packages",
        **fpm_publish_form("hello", version, "MIT", token, data),
    )
    return request.read(), request.headers["Content-Type"]


def start_upload(server: LiveServer, body: bytes, content_type: str, sent: int) -> socket.socket:
    """Open a connection and send the headers and the first `sent` bytes of `body`."""
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=TIMEOUT)
    head = (
        f"POST /packages HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
        f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    sock.sendall(head.encode() + body[:sent])
    return sock


class HeldWrites:
    """Another transaction holding the `packages` table, so concurrent publishes line up."""

    def __init__(self, waiting: Callable[[], int]) -> None:
        self._waiting = waiting

    def wait_for_writers(self, count: int) -> None:
        """Return once `count` publishes are blocked behind the held table."""
        if backend_name() == "sqlite":
            # SQLite shows no lock waiters; the publishes wait on busy_timeout (30 s).
            time.sleep(3)
            return
        deadline = time.monotonic() + TIMEOUT
        while self._waiting() < count:
            assert time.monotonic() < deadline, "the publishes never reached the insert"
            time.sleep(0.05)


@contextmanager
def writes_held(database_url: str) -> Iterator[HeldWrites]:
    """Hold writes to `packages` until the block exits.

    PostgreSQL: `LOCK TABLE packages IN SHARE MODE` lets the publishes read (so both
    see no package yet) and stops each at its INSERT. SQLite: one writer at a time,
    so the publishes wait at their first write and then run one after the other."""
    engine = make_engine(database_url)
    try:
        if backend_name() == "sqlite":
            raw = engine.raw_connection()
            raw.driver_connection.isolation_level = None  # type: ignore[union-attr]
            cursor = raw.cursor()
            cursor.execute("BEGIN IMMEDIATE")
            try:
                yield HeldWrites(lambda: 0)
            finally:
                cursor.execute("ROLLBACK")
                raw.close()
            return
        with engine.connect() as holder, engine.connect() as observer:
            holder.execute(text("LOCK TABLE packages IN SHARE MODE"))

            def waiting() -> int:
                count = observer.execute(
                    text(
                        "SELECT count(*) FROM pg_locks "
                        "WHERE NOT granted AND relation = 'packages'::regclass"
                    )
                ).scalar_one()
                observer.rollback()
                return int(count)

            try:
                yield HeldWrites(waiting)
            finally:
                holder.rollback()
    finally:
        engine.dispose()


def publish_together(
    server: LiveServer, uploads: list[tuple[str, bytes, str]], database_url: str
) -> list[httpx.Response]:
    """Send the uploads at the same moment, lined up behind held writes."""
    barrier = threading.Barrier(len(uploads))

    def one(token: str, data: bytes, version: str) -> httpx.Response:
        barrier.wait()
        return fpm_publish(server.url, token, data, version)

    with ThreadPoolExecutor(len(uploads)) as pool, writes_held(database_url) as held:
        futures = [pool.submit(one, *upload) for upload in uploads]
        held.wait_for_writers(len(uploads))
    return [f.result() for f in futures]


def crashing_server(database_url: str, workdir: Path, point: str) -> LiveServer:
    """A registry process that exits hard when a publish reaches `point`."""
    return LiveServer(
        database_url,
        workdir,
        env={CRASH_ENV: point, **SWEEP_AT_START},
        app_factory="tests.support.crashing_app:create_crashing_app",
    )


@pytest.fixture
def server_db(tmp_path: Path) -> Iterator[str]:
    """A fresh database for the servers of one test (not the shared one)."""
    with fresh_database(tmp_path) as url:
        yield url


# Crash points -------------------------------------------------------------------------


@pytest.mark.parametrize("point", CRASH_POINTS)
def test_publish_survives_a_crash_at_every_step(tmp_path: Path, server_db: str, point: str) -> None:
    storage = tmp_path / "blobs"
    publisher, before = seed(server_db, storage, "1.0.0")
    data = package_tarball("hello", "1.1.0")
    sha = hashlib.sha256(data).hexdigest()

    crashing = crashing_server(server_db, tmp_path, point)
    with crashing, pytest.raises(httpx.TransportError):
        fpm_publish(crashing.url, publisher.token, data, "1.1.0")

    with LiveServer(server_db, tmp_path, env=SWEEP_AT_START) as server:
        # What was there before the crash is untouched.
        assert hashlib.sha256(download(server.url, "1.0.0")).hexdigest() == before["1.0.0"]
        if point == "after-commit":
            assert api_versions(server.url) == {**before, "1.1.0": sha}
            assert download(server.url, "1.1.0") == data
            assert hashlib.sha256(download(server.url, "1.1.0")).hexdigest() == sha
            latest = httpx.get(f"{server.url}/packages/{NAMESPACE}/hello", timeout=TIMEOUT)
            assert latest.json()["data"]["latest_version_data"]["version"] == "1.1.0"
            assert blob_hashes(storage) == {*before.values(), sha}
            assert staging_files(storage) == []
            again = fpm_publish(server.url, publisher.token, data, "1.1.0")
            assert again.status_code == 409 and "immutable" in again.json()["message"]
            return

        assert api_versions(server.url) == before
        gone = httpx.get(f"{server.url}/packages/{NAMESPACE}/hello/1.1.0", timeout=TIMEOUT)
        assert gone.status_code == 404 and gone.json()["code"] == 404
        latest = httpx.get(f"{server.url}/packages/{NAMESPACE}/hello", timeout=TIMEOUT)
        assert latest.json()["data"]["latest_version_data"]["version"] == "1.0.0"
        assert blob_hashes(storage) == set(before.values())
        assert staging_files(storage) == []

        # Nothing half-done blocks the uploader's retry.
        retry = fpm_publish(server.url, publisher.token, data, "1.1.0")
        assert retry.status_code == 200, retry.text
        assert download(server.url, "1.1.0") == data
        assert blob_hashes(storage) == {*before.values(), sha}


def test_first_publish_of_a_package_leaves_nothing_after_a_crash(
    tmp_path: Path, server_db: str
) -> None:
    """A crash during a package's very first upload leaves no empty package behind."""
    storage = tmp_path / "blobs"
    publisher, _ = seed(server_db, storage)
    data = package_tarball("hello", "1.0.0")
    with (
        crashing_server(server_db, tmp_path, "before-commit") as crashing,
        pytest.raises(httpx.TransportError),
    ):
        fpm_publish(crashing.url, publisher.token, data, "1.0.0")
    with LiveServer(server_db, tmp_path, env=SWEEP_AT_START) as server:
        assert api_versions(server.url) is None
        search = httpx.get(f"{server.url}/api/v1/packages", params={"q": "hello"}, timeout=TIMEOUT)
        assert search.json()["packages"] == []
        assert blob_hashes(storage) == set()
        assert staging_files(storage) == []


def test_upload_cut_off_mid_body_leaves_nothing(tmp_path: Path, server_db: str) -> None:
    storage = tmp_path / "blobs"
    publisher, _ = seed(server_db, storage)
    data = package_tarball("hello", "1.0.0", files={"data/big.bin": os.urandom(3 * 1024 * 1024)})
    body, content_type = multipart(publisher.token, data, "1.0.0")

    server = LiveServer(server_db, tmp_path, env=SWEEP_AT_START).start()
    try:
        # The uploader hangs up halfway: the server carries on and keeps nothing.
        start_upload(server, body, content_type, len(body) // 2).close()
        time.sleep(1)
        assert api_versions(server.url) is None
        assert blob_hashes(storage) == set()
        assert staging_files(storage) == []

        # The server is killed while the body is still arriving.
        sock = start_upload(server, body, content_type, len(body) // 2)
        time.sleep(1)
        kill_hard(server)
        sock.close()
    finally:
        server.stop()

    with LiveServer(server_db, tmp_path, env=SWEEP_AT_START) as restarted:
        assert api_versions(restarted.url) is None
        assert blob_hashes(storage) == set()
        assert staging_files(storage) == []
        retry = fpm_publish(restarted.url, publisher.token, data, "1.0.0")
        assert retry.status_code == 200, retry.text
        assert download(restarted.url, "1.0.0") == data


# Concurrency --------------------------------------------------------------------------


@pytest.fixture
def racing_server(tmp_path: Path, server_db: str) -> Iterator[LiveServer]:
    with LiveServer(server_db, tmp_path, workers=2) as server:
        yield server


def test_same_new_version_published_twice_at_once_has_one_winner(
    tmp_path: Path, server_db: str, racing_server: LiveServer
) -> None:
    first, second = (racing_server.publisher_token(NAMESPACE) for _ in range(2))
    uploads = [
        (first, package_tarball("hello", "1.0.0", readme="# one\n"), "1.0.0"),
        (second, package_tarball("hello", "1.0.0", readme="# two\n"), "1.0.0"),
    ]
    responses = publish_together(racing_server, uploads, server_db)

    assert sorted(r.status_code for r in responses) == [200, 409], [r.text for r in responses]
    winner = next(i for i, r in enumerate(responses) if r.status_code == 200)
    loser = responses[1 - winner].json()
    assert loser["code"] == 409
    assert f"`{NAMESPACE}/hello` already has a version `1.0.0`" in loser["message"]

    data = uploads[winner][1]
    sha = hashlib.sha256(data).hexdigest()
    assert sha in responses[winner].json()["message"]
    assert api_versions(racing_server.url) == {"1.0.0": sha}
    assert download(racing_server.url, "1.0.0") == data
    assert blob_hashes(tmp_path / "blobs") == {sha}
    assert staging_files(tmp_path / "blobs") == []


def test_two_versions_of_a_new_package_published_at_once_both_land(
    tmp_path: Path, server_db: str, racing_server: LiveServer
) -> None:
    first, second = (racing_server.publisher_token(NAMESPACE) for _ in range(2))
    uploads = [
        (first, package_tarball("hello", "1.0.0"), "1.0.0"),
        (second, package_tarball("hello", "1.1.0"), "1.1.0"),
    ]
    responses = publish_together(racing_server, uploads, server_db)

    assert [r.status_code for r in responses] == [200, 200], [r.text for r in responses]
    shas = {v: hashlib.sha256(d).hexdigest() for _, d, v in uploads}
    assert api_versions(racing_server.url) == shas
    assert blob_hashes(tmp_path / "blobs") == set(shas.values())
    assert staging_files(tmp_path / "blobs") == []
