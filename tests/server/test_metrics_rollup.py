"""Retention: daily rows older than the retention become monthly rows; totals never change."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fpmreg.server.app import create_app
from fpmreg.server.db import Database
from fpmreg.server.metrics.jobs import MetricsLoop, roll_up_in
from fpmreg.server.metrics.models import DownloadCount, Period
from fpmreg.server.metrics.recorder import DownloadRecorder
from fpmreg.server.metrics.service import CountKey, DownloadsService, month_start
from fpmreg.server.packages.models import Package, Version
from fpmreg.server.settings import Environment, Settings
from fpmreg.server.storage import BlobStore
from tests.factories import make_publisher, publish, unique
from tests.support.databases import fresh_database

TODAY = date(2026, 11, 20)
KINDS = ("fpm", "fpmreg", "mirror", "browser", "other")


class Clock:
    def __init__(self, day: date = TODAY) -> None:
        self.day = day

    def now(self) -> datetime:
        return datetime(self.day.year, self.day.month, self.day.day, 12, tzinfo=UTC)


def versions_of(session: Session, store: BlobStore, count: int = 3) -> list[int]:
    publisher = make_publisher(session)
    name = unique("roll")
    for minor in range(count):
        publish(session, store, publisher, name, f"1.{minor}.0")
    session.commit()
    return list(
        session.scalars(
            select(Version.id)
            .join(Package)
            .where(Package.namespace_id == publisher.namespace.id)
            .order_by(Version.id)
        )
    )


def three_years_of_counts(version_ids: list[int], seed: int = 7) -> dict[CountKey, int]:
    rng = random.Random(seed)
    counts: dict[CountKey, int] = {}
    for _ in range(3000):
        day = TODAY - timedelta(days=rng.randrange(0, 3 * 365))
        key = CountKey(rng.choice(version_ids), day, rng.choice(KINDS), rng.random() < 0.3)
        counts[key] = counts.get(key, 0) + rng.randrange(1, 50)
    return counts


def sums(session: Session, version_ids: list[int]) -> Counter[tuple[int, str, bool]]:
    """Downloads per (version, client kind, CI), over every period."""
    rows = session.execute(
        select(
            DownloadCount.version_id,
            DownloadCount.client,
            DownloadCount.ci,
            func.sum(DownloadCount.count),
        )
        .where(DownloadCount.version_id.in_(version_ids))
        .group_by(DownloadCount.version_id, DownloadCount.client, DownloadCount.ci)
    ).all()
    return Counter({(v, c, bool(ci)): int(n) for v, c, ci, n in rows})


def test_rollup_keeps_every_total_and_only_recent_days(session: Session, store: BlobStore) -> None:
    ids = versions_of(session, store)
    counts = three_years_of_counts(ids)
    service = DownloadsService(session, Clock())
    service.add_counts(counts)
    session.commit()
    before = sums(session, ids)
    assert sum(before.values()) == sum(counts.values())

    result = roll_up_in(session, Clock(), 730)

    cutoff = month_start(TODAY - timedelta(days=730))
    assert result.cutoff == cutoff == date(2024, 11, 1)
    moved = sum(n for key, n in counts.items() if key.day < cutoff)
    assert result.downloads == moved > 0
    assert sums(session, ids) == before  # per version, client kind and CI flag
    rows = session.execute(
        select(DownloadCount.period, DownloadCount.day, DownloadCount.count).where(
            DownloadCount.version_id.in_(ids)
        )
    ).all()
    assert all(day >= cutoff for period, day, _ in rows if period == Period.DAY)
    assert all(day < cutoff and day.day == 1 for period, day, _ in rows if period == Period.MONTH)
    kept = {(k.version_id, k.day, k.client, k.ci): n for k, n in counts.items() if k.day >= cutoff}
    daily = session.execute(
        select(
            DownloadCount.version_id,
            DownloadCount.day,
            DownloadCount.client,
            DownloadCount.ci,
            DownloadCount.count,
        ).where(DownloadCount.version_id.in_(ids), DownloadCount.period == Period.DAY)
    ).all()
    assert {(v, d, c, bool(ci)): n for v, d, c, ci, n in daily} == kept  # untouched

    again = roll_up_in(session, Clock(), 730)
    assert (again.rows, again.downloads) == (0, 0)
    assert sums(session, ids) == before


def test_later_downloads_of_a_rolled_up_month_are_added_to_it(
    session: Session, store: BlobStore
) -> None:
    [version_id] = versions_of(session, store, count=1)
    service = DownloadsService(session, Clock())
    old = date(2023, 3, 14)
    service.add_counts({CountKey(version_id, old, "fpm", False): 4})
    session.commit()
    roll_up_in(session, Clock(), 730)
    # A flush that was late (a day-old buffer) or a restored backup adds a daily row again.
    service.add_counts({CountKey(version_id, old, "fpm", False): 3})
    session.commit()
    roll_up_in(session, Clock(), 730)
    rows = session.execute(
        select(DownloadCount.period, DownloadCount.day, DownloadCount.count).where(
            DownloadCount.version_id == version_id
        )
    ).all()
    assert rows == [(Period.MONTH.value, date(2023, 3, 1), 7)]


@pytest.fixture
def own_database(tmp_path: Path) -> Iterator[Database]:
    with fresh_database(tmp_path) as url:
        database = Database.from_url(url)
        yield database
        database.engine.dispose()


def test_concurrent_rollups_and_flushes_neither_lose_nor_double(
    own_database: Database, store: BlobStore
) -> None:
    with own_database.session() as session:
        ids = versions_of(session, store)
        counts = three_years_of_counts(ids, seed=11)
        DownloadsService(session, Clock()).add_counts(counts)
        session.commit()
    expected = sum(counts.values())
    recorder = DownloadRecorder(own_database, Clock(), dedup_seconds=0)
    flushed = 0
    errors: list[BaseException] = []

    def roll_up() -> None:
        try:
            database = Database(own_database.engine)
            with database.session() as session:
                roll_up_in(session, Clock(), 60)
        except BaseException as exc:
            errors.append(exc)

    def download_and_flush() -> None:
        nonlocal flushed
        for i in range(300):
            recorder.count(ids[i % len(ids)], address="", user_agent="curl/8", ci=False)
            if i % 50 == 0:
                flushed += recorder.flush()
        flushed += recorder.flush()

    threads = [threading.Thread(target=roll_up) for _ in range(4)]
    threads.append(threading.Thread(target=download_and_flush))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert flushed == 300
    with own_database.session() as session:
        total = session.scalar(select(func.sum(DownloadCount.count)))
        old_days = session.scalar(
            select(func.count())
            .select_from(DownloadCount)
            .where(
                DownloadCount.period == Period.DAY,
                DownloadCount.day < month_start(TODAY - timedelta(days=60)),
            )
        )
    assert total == expected + 300
    assert old_days == 0


def test_the_server_rolls_up_when_it_starts_and_then_once_a_day(
    own_database: Database, store: BlobStore, tmp_path: Path
) -> None:
    with own_database.session() as session:
        ids = versions_of(session, store, count=1)
        DownloadsService(session, Clock()).add_counts(
            {CountKey(ids[0], date(2020, 5, 5), "fpm", False): 9}
        )
        session.commit()
    clock = Clock()
    settings = Settings(
        env=Environment.TEST,
        database_url=str(own_database.engine.url),
        storage_path=tmp_path / "blobs",
        metrics_flush_seconds=0,
    )
    with TestClient(create_app(settings, database=own_database, clock=clock)):
        with own_database.session() as session:
            periods = set(session.scalars(select(DownloadCount.period)))
        assert periods == {Period.MONTH.value}
    loop = MetricsLoop(
        DownloadRecorder(own_database, clock, dedup_seconds=0),
        own_database,
        clock,
        flush_seconds=0,
        retention_days=730,
    )
    assert loop.roll_up_daily() is not None
    assert loop.roll_up_daily() is None  # already today
    clock.day += timedelta(days=1)
    assert loop.roll_up_daily() is not None


def test_operator_rolls_up_from_the_command_line(
    own_database: Database, store: BlobStore, tmp_path: Path
) -> None:
    with own_database.session() as session:
        ids = versions_of(session, store, count=1)
        old = datetime.now(UTC).date() - timedelta(days=400)
        DownloadsService(session, Clock()).add_counts(
            {CountKey(ids[0], old, "fpm", False): 5, CountKey(ids[0], old, "other", True): 2}
        )
        session.commit()
    url = own_database.engine.url.render_as_string(hide_password=False)
    env = {k: v for k, v in os.environ.items() if not k.startswith("FPMREG_")}
    env |= {
        "FPMREG_DATABASE_URL": url.replace("postgresql+psycopg://", "postgresql://"),
        "FPMREG_STORAGE_PATH": str(tmp_path / "blobs"),
    }
    done = subprocess.run(
        [sys.executable, "-m", "fpmreg.server", "metrics", "rollup", "--retention-days", "30"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "rolled up 7 download(s) from 2 daily row(s)" in done.stdout
    with own_database.session() as session:
        rows = session.execute(select(DownloadCount.period, DownloadCount.count)).all()
    assert sorted(rows) == [(Period.MONTH.value, 2), (Period.MONTH.value, 5)]
