"""One unit of work per request: committed before the answer is sent, or rolled back.

The request's `db_session` commits when the handler returns and rolls back when it
raises; services only flush. These tests serve the real app with uvicorn on loopback
and look at the database from another connection, as a second client would.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import uvicorn
from sqlalchemy import func, select

from fpmreg.server.app import create_app
from fpmreg.server.db import Database
from fpmreg.server.front.models import LogCursor
from fpmreg.server.packages.models import Version
from fpmreg.server.packages.service import PublishHooks
from fpmreg.server.settings import Environment, Settings
from tests.factories import make_publisher
from tests.support.databases import fresh_database
from tests.support.live import free_port
from tests.support.tarballs import package_tarball

TIMEOUT = 30
# How long a held commit stands before the test checks that no answer has come.
HOLD_SECONDS = 1.0


@dataclass
class Served:
    """The real app on a loopback port, with its own database and a publish token."""

    url: str
    database: Database
    token: str
    storage: Path

    def versions(self) -> dict[str, str]:
        """Version → sha256, read on a connection of its own."""
        with self.database.session() as session:
            return dict(session.execute(select(Version.version, Version.sha256)).all())

    def blobs(self) -> set[str]:
        """The hashes of the blob files in the store."""
        return {p.name for p in (self.storage / "sha256").glob("**/*") if p.is_file()}


@contextmanager
def served(tmp_path: Path, hooks: PublishHooks) -> Iterator[Served]:
    """Serve `create_app(..., publish_hooks=hooks)` with uvicorn in a thread."""
    with fresh_database(tmp_path) as url:
        database = Database.from_url(url)
        with database.session() as session:
            token = make_publisher(session, namespace="uow").token
            session.commit()
        port = free_port()
        settings = Settings(
            env=Environment.TEST,
            database_url=url,
            storage_path=tmp_path / "blobs",
            base_url=f"http://127.0.0.1:{port}",
            metrics_flush_seconds=0,
        )
        app = create_app(settings, publish_hooks=hooks)
        server = uvicorn.Server(uvicorn.Config(app, port=port, log_level="warning"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        try:
            for _ in range(TIMEOUT * 20):
                if server.started:
                    break
                threading.Event().wait(0.05)
            assert server.started, "uvicorn did not start"
            yield Served(f"http://127.0.0.1:{port}", database, token, tmp_path / "blobs")
        finally:
            server.should_exit = True
            thread.join(TIMEOUT)
            database.engine.dispose()


def api_publish(base_url: str, token: str, data: bytes) -> httpx.Response:
    return httpx.post(
        f"{base_url}/api/v1/packages",
        files={"tarball": ("hello.tar.gz", data, "application/gzip")},
        headers={"Authorization": f"Bearer {token}"},
        timeout=TIMEOUT,
    )


class HeldCommit:
    """A `before_commit` hook that holds the commit until released."""

    def __init__(self) -> None:
        self.reached = threading.Event()
        self.release = threading.Event()

    def __call__(self) -> None:
        self.reached.set()
        self.release.wait(TIMEOUT)


def test_a_publish_is_committed_before_its_answer_is_sent(tmp_path: Path) -> None:
    """A client that got its 201 finds the version from any other connection at once."""
    held = HeldCommit()
    data = package_tarball("hello", "1.0.0")
    with served(tmp_path, PublishHooks(before_commit=held)) as app, ThreadPoolExecutor(1) as pool:
        answer = pool.submit(api_publish, app.url, app.token, data)
        assert held.reached.wait(TIMEOUT), "the publish never reached its commit"
        with pytest.raises(FutureTimeout):
            answer.result(timeout=HOLD_SECONDS)  # no answer while the commit waits
        assert app.versions() == {}
        held.release.set()
        response = answer.result(timeout=TIMEOUT)
        assert response.status_code == 201, response.text
        sha = response.json()["sha256"]
        assert app.versions() == {"1.0.0": sha}
        assert app.blobs() == {sha}


def _failing_commit() -> Callable[[], None]:
    def fail() -> None:
        raise RuntimeError("the database went away")

    return fail


def test_a_publish_whose_commit_fails_leaves_no_version_and_no_blob(tmp_path: Path) -> None:
    data = package_tarball("hello", "1.0.0")
    with served(tmp_path, PublishHooks(before_commit=_failing_commit())) as app:
        response = api_publish(app.url, app.token, data)
        assert response.status_code == 500
        assert app.versions() == {}
        assert app.blobs() == set()
        assert list((app.storage / "tmp").glob("*")) == []


def test_a_savepoint_before_any_write_is_rolled_back_with_its_transaction(
    tmp_path: Path,
) -> None:
    # On SQLite the driver opens a transaction only before a write; a leading savepoint
    # must still nest, or releasing it would commit what the outer rollback undoes.
    with fresh_database(tmp_path) as url:
        db = Database.from_url(url)
        with db.sessions() as session:
            session.scalar(select(Version.id))
            with session.begin_nested():
                session.add(
                    LogCursor(
                        path="/var/log/a.log",
                        inode=1,
                        offset=0,
                        first_line_sha256="",
                        updated_at=datetime.now(UTC),
                    )
                )
            session.rollback()
        with db.sessions() as other:
            assert other.scalar(select(func.count()).select_from(LogCursor)) == 0
        db.engine.dispose()
