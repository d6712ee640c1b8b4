"""Counting downloads: client kinds, the repeat window, HEAD and broken requests, flushing."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, func, select, text
from sqlalchemy.orm import Session, sessionmaker

from fpmreg.server.app import create_app
from fpmreg.server.db import Database
from fpmreg.server.metrics.models import ClientKind, DownloadCount, PackageDownloads
from fpmreg.server.metrics.recorder import DownloadRecorder
from fpmreg.server.metrics.service import client_kind
from fpmreg.server.packages.models import Package, Version
from fpmreg.server.settings import Settings
from fpmreg.server.storage import BlobStore
from tests.factories import make_publisher, publish
from tests.support.databases import fresh_database


class MovableClock:
    """A clock the test moves; the app, the recorder and the services read it."""

    def __init__(self, at: datetime | None = None) -> None:
        self.at = at or datetime.now(UTC).replace(microsecond=0)

    def now(self) -> datetime:
        return self.at

    def advance(self, **delta: float) -> None:
        self.at += timedelta(**delta)


@pytest.mark.parametrize(
    ("user_agent", "kind"),
    [
        ("curl/8.5.0", ClientKind.FPM),  # fpm runs curl to fetch tarballs
        ("Wget/1.21.3", ClientKind.FPM),
        ("fpmreg/0.1.0 (linux; python 3.11)", ClientKind.FPMREG),
        ("fpmreg-mirror/1.0", ClientKind.MIRROR),
        ("bandersnatch-like mirror tool", ClientKind.MIRROR),
        ("fpmreg/0.1.0 mirror", ClientKind.MIRROR),
        ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/126", ClientKind.BROWSER),
        ("Mozilla/5.0 (compatible; Googlebot/2.1)", ClientKind.OTHER),
        ("python-httpx/0.28.1", ClientKind.OTHER),
        ("", ClientKind.OTHER),
    ],
)
def test_client_kind_is_read_from_the_user_agent(user_agent: str, kind: ClientKind) -> None:
    assert client_kind(user_agent) == kind


# The repeat window, on the recorder alone ------------------------------------------


def recorder(clock: MovableClock, dedup_seconds: float = 60) -> DownloadRecorder:
    # Counting never touches the database; only `flush` does.
    return DownloadRecorder(
        Database(create_engine("sqlite://")), clock, dedup_seconds=dedup_seconds
    )


def test_a_repeat_within_the_window_counts_once_and_again_after_it() -> None:
    clock = MovableClock()
    counts = recorder(clock)
    source = {"address": "192.0.2.7", "user_agent": "curl/8.5.0", "ci": False}
    assert counts.count(1, **source) is True
    clock.advance(seconds=30)
    assert counts.count(1, **source) is False
    clock.advance(seconds=29)
    assert counts.count(1, **source) is False
    assert counts.pending() == 1
    clock.advance(seconds=2)  # 61 s after the counted download
    assert counts.count(1, **source) is True
    assert counts.pending() == 2


def test_another_user_agent_address_or_version_is_another_download() -> None:
    clock = MovableClock()
    counts = recorder(clock)
    assert counts.count(1, address="192.0.2.7", user_agent="curl/8.5.0", ci=False)
    assert counts.count(1, address="192.0.2.7", user_agent="Wget/1.21", ci=False)
    assert counts.count(1, address="192.0.2.8", user_agent="curl/8.5.0", ci=False)
    assert counts.count(2, address="192.0.2.7", user_agent="curl/8.5.0", ci=False)
    assert not counts.count(1, address="192.0.2.7", user_agent="Wget/1.21", ci=False)
    assert counts.pending() == 4


def test_a_zero_window_counts_every_download() -> None:
    counts = recorder(MovableClock(), dedup_seconds=0)
    for _ in range(5):
        assert counts.count(1, address="192.0.2.7", user_agent="curl/8.5.0", ci=False)
    assert counts.pending() == 5


def test_the_key_changes_at_utc_midnight_so_yesterday_cannot_match() -> None:
    clock = MovableClock(datetime(2026, 11, 21, 23, 59, 50, tzinfo=UTC))
    counts = recorder(clock)
    source = {"address": "192.0.2.7", "user_agent": "curl/8.5.0", "ci": False}
    assert counts.count(1, **source)
    key_before = counts._key
    clock.advance(seconds=20)  # 00:00:10 the next day, inside the window
    assert counts.count(1, **source)  # a new day: a new key, nothing remembered
    assert counts._key != key_before and len(counts._key) == 32
    assert counts.pending() == 2


# Through the app: what is a download -----------------------------------------------


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock()


@pytest.fixture
def counting_app(
    settings: Settings, engine: Engine, sessions: sessionmaker[Session], clock: MovableClock
) -> FastAPI:
    """The real app with the 60 s window and no background flush (the test flushes)."""
    quiet = settings.model_copy(update={"download_dedup_seconds": 60, "metrics_flush_seconds": 0})
    return create_app(quiet, database=Database(engine, sessions), clock=clock)


@pytest.fixture
def counting_client(counting_app: FastAPI) -> Iterator[TestClient]:
    with TestClient(counting_app) as client:
        yield client


def stored(session: Session, version_id: int) -> dict[tuple[str, bool], int]:
    rows = session.execute(
        select(DownloadCount.client, DownloadCount.ci, DownloadCount.count).where(
            DownloadCount.version_id == version_id
        )
    ).all()
    return {(client, ci): count for client, ci, count in rows}


def test_only_whole_gets_of_existing_tarballs_count_and_repeats_count_once(
    counting_app: FastAPI,
    counting_client: TestClient,
    session: Session,
    store: BlobStore,
    clock: MovableClock,
) -> None:
    publisher = make_publisher(session)
    publish(session, store, publisher, "counted", "1.0.0")
    session.commit()
    ns = publisher.namespace.name
    version_id = session.scalar(
        select(Version.id).join(Package).where(Package.namespace_id == publisher.namespace.id)
    )
    assert version_id is not None
    url = f"/tarballs/{ns}/counted/1.0.0.tar.gz"
    fpm = {"User-Agent": "curl/8.5.0"}
    recorder_ = counting_app.state.metrics.recorder

    assert counting_client.get(url, headers=fpm).status_code == 200
    assert counting_client.get(url, headers=fpm).status_code == 200  # a repeat
    assert counting_client.head(url, headers={"User-Agent": "Wget/1.21"}).status_code == 200
    partial = counting_client.get(url, headers={"User-Agent": "x/1", "Range": "bytes=0-9"})
    assert partial.status_code == 206 and len(partial.content) == 10
    assert counting_client.get(f"/tarballs/{ns}/counted/9.9.9.tar.gz").status_code == 404
    ci = {"User-Agent": "fpmreg/0.1.0", "X-Fpmreg-CI": "1"}
    api = f"/api/v1/packages/{ns}/counted/versions/1.0/download"
    assert counting_client.get(api, headers=ci).status_code == 200
    assert recorder_.flush() == 2
    assert stored(session, version_id) == {("fpm", False): 1, ("fpmreg", True): 1}

    clock.advance(seconds=61)
    assert counting_client.get(url, headers=fpm).status_code == 200
    browser = {"User-Agent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0"}
    assert counting_client.get(url, headers=browser).status_code == 200
    assert recorder_.flush() == 2
    assert stored(session, version_id) == {
        ("fpm", False): 2,
        ("fpmreg", True): 1,
        ("browser", False): 1,
    }
    package_total = select(PackageDownloads.count).join(
        Version, Version.package_id == PackageDownloads.package_id
    )
    assert session.scalar(package_total.where(Version.id == version_id)) == 4


# Flushing -------------------------------------------------------------------------


@pytest.fixture
def own_database(tmp_path: Path) -> Iterator[Database]:
    """A database of this test's own, committed to for real (DDL and threads)."""
    with fresh_database(tmp_path) as url:
        database = Database.from_url(url)
        yield database
        database.engine.dispose()


def published_version(database: Database, store: BlobStore) -> int:
    with database.session() as session:
        publisher = make_publisher(session)
        publish(session, store, publisher, "flushed", "1.0.0")
        session.commit()
        version_id = session.scalar(select(Version.id))
        assert version_id is not None
        return version_id


def total_in(database: Database) -> int:
    with database.session() as session:
        return int(session.scalar(select(func.coalesce(func.sum(DownloadCount.count), 0))) or 0)


def test_a_failed_flush_keeps_the_counts_for_the_next_one(
    own_database: Database, store: BlobStore
) -> None:
    version_id = published_version(own_database, store)
    counts = DownloadRecorder(own_database, MovableClock(), dedup_seconds=0)
    for _ in range(7):
        counts.count(version_id, address="192.0.2.7", user_agent="curl/8", ci=False)
    with own_database.engine.begin() as conn:  # the write will fail: no such table
        conn.execute(text("ALTER TABLE download_counts RENAME TO download_counts_away"))
    with pytest.raises(Exception, match="download_counts"):
        counts.flush()
    assert counts.pending() == 7
    counts.count(version_id, address="192.0.2.7", user_agent="curl/8", ci=False)
    with own_database.engine.begin() as conn:
        conn.execute(text("ALTER TABLE download_counts_away RENAME TO download_counts"))
    assert counts.flush() == 8
    assert counts.pending() == 0
    assert total_in(own_database) == 8


def test_counting_while_flushing_loses_and_doubles_nothing(
    own_database: Database, store: BlobStore
) -> None:
    version_id = published_version(own_database, store)
    counts = DownloadRecorder(own_database, MovableClock(), dedup_seconds=0)
    per_thread, threads = 2_000, 4
    done = threading.Event()

    def download() -> None:
        for i in range(per_thread):
            counts.count(version_id, address="192.0.2.7", user_agent=f"curl/{i % 3}", ci=i % 2 == 0)

    def flush_all_the_time() -> None:
        while not done.is_set():
            counts.flush()

    flusher = threading.Thread(target=flush_all_the_time)
    flusher.start()
    workers = [threading.Thread(target=download) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    done.set()
    flusher.join()
    counts.flush()
    assert total_in(own_database) == per_thread * threads
