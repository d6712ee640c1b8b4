"""The daily dump job: queued for a quarter past midnight UTC, it writes that day's dump
and queues the next day's (docs/dumps.md, "Schedule")."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from fpmreg.server.app import build_job_handlers
from fpmreg.server.db import Database
from fpmreg.server.jobs import Job, JobRunner, JobStatus
from fpmreg.server.linked.dumps_job import WRITE_DUMP, next_run, schedule_dump
from fpmreg.server.settings import Environment, Settings
from fpmreg.server.storage import FilesystemBlobStore
from tests.factories import make_publisher, publish
from tests.support.databases import fresh_database

START = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


class MovableClock:
    def __init__(self) -> None:
        self.current = START

    def now(self) -> datetime:
        return self.current


@pytest.fixture
def database(tmp_path: Path) -> Iterator[Database]:
    with fresh_database(tmp_path) as url:
        database = Database.from_url(url)
        yield database
        database.engine.dispose()


def _queued(database: Database) -> list[datetime]:
    with database.session() as session:
        rows = session.scalars(
            select(Job.run_after).where(Job.kind == WRITE_DUMP, Job.status == JobStatus.QUEUED)
        )
        return [r.replace(tzinfo=UTC) if r.tzinfo is None else r for r in rows]


def test_the_daily_job_writes_the_days_dump_and_queues_the_next(
    database: Database, tmp_path: Path
) -> None:
    store = FilesystemBlobStore(tmp_path / "blobs")
    with database.session() as session:
        publish(session, store, make_publisher(session, namespace="daily"), "lib", "1.0.0")
        assert schedule_dump(session, START) is True
        assert schedule_dump(session, START) is False  # one chain, not two
        session.commit()
    assert _queued(database) == [datetime(2026, 12, 2, 0, 15, tzinfo=UTC)]

    settings = Settings(
        env=Environment.TEST, storage_path=tmp_path / "blobs", base_url="https://r.example"
    )
    clock = MovableClock()
    runner = JobRunner(database, clock, build_job_handlers(settings, clock, database),
                       worker_id="test-worker")  # fmt: skip
    assert runner.run_until_idle() == 0  # not yet midnight
    clock.current = datetime(2026, 12, 2, 0, 16, tzinfo=UTC)
    assert runner.run_until_idle() == 1

    written = tmp_path / "blobs" / "dumps" / "fpmreg-2026-12-02.jsonl.gz"
    header, package = (
        json.loads(line) for line in gzip.decompress(written.read_bytes()).split(b"\n")[:2]
    )
    assert header["registry"] == "https://r.example" and header["license"] == "CC0-1.0"
    assert (package["namespace"], package["name"]) == ("daily", "lib")
    assert _queued(database) == [datetime(2026, 12, 3, 0, 15, tzinfo=UTC)]


def test_the_next_run_is_the_next_quarter_past_midnight() -> None:
    early = datetime(2026, 12, 1, 0, 5, tzinfo=UTC)
    assert next_run(early) == datetime(2026, 12, 1, 0, 15, tzinfo=UTC)
    assert next_run(early + timedelta(minutes=10)) == datetime(2026, 12, 2, 0, 15, tzinfo=UTC)
