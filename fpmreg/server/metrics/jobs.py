"""Background work of the metrics domain: flushing download counts and the daily rollup."""

from __future__ import annotations

import logging
import threading
import time
from datetime import date

from sqlalchemy.orm import Session

from fpmreg.server.clock import Clock
from fpmreg.server.db import Database
from fpmreg.server.metrics.recorder import DownloadRecorder
from fpmreg.server.metrics.service import DownloadsService, RollupResult

log = logging.getLogger(__name__)

# Tries of the last flush at shutdown before the counts are given up (and logged).
SHUTDOWN_FLUSH_TRIES = 3


def roll_up_downloads(database: Database, clock: Clock, retention_days: int) -> RollupResult:
    """Fold daily download rows older than `retention_days` into monthly rows."""
    with database.session() as session:
        return roll_up_in(session, clock, retention_days)


def roll_up_in(
    session: Session, clock: Clock, retention_days: int, today: date | None = None
) -> RollupResult:
    """The rollup on a session of its own: one transaction per month, committed here
    (jobs own their transactions; the service only flushes)."""
    downloads = DownloadsService(session, clock)
    cutoff = downloads.rollup_cutoff(retention_days, today)
    months = downloads.months_to_roll_up(retention_days, today)
    # End the read before the first write: on SQLite a transaction that read first
    # cannot take the write lock once another process has written.
    session.rollback()
    moved_rows = moved = 0
    for month in months:
        try:
            rows, count = downloads.roll_up_month(month)
            session.commit()
        except BaseException:
            session.rollback()
            raise
        moved_rows += rows
        moved += count
    return RollupResult(cutoff, len(months), moved_rows, moved)


class MetricsLoop:
    """A daemon thread that flushes the recorder every `flush_seconds` and rolls old
    daily rows up once per UTC day. A thread, not a task on the event loop, so a busy
    loop cannot delay the flush and a slow database cannot stall requests."""

    def __init__(
        self,
        recorder: DownloadRecorder,
        database: Database,
        clock: Clock,
        *,
        flush_seconds: float,
        retention_days: int,
    ) -> None:
        self.recorder = recorder
        self.database = database
        self.clock = clock
        self.flush_seconds = flush_seconds
        self.retention_days = retention_days
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._rolled_up: date | None = None

    def start(self) -> None:
        """Start flushing in the background (not when `flush_seconds` is 0)."""
        if self.flush_seconds <= 0 or self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="fpmreg-metrics", daemon=True)
        self._thread.start()

    def roll_up_daily(self) -> RollupResult | None:
        """Run the rollup if it has not run in this process today (UTC)."""
        today = self.clock.now().date()
        if self._rolled_up == today:
            return None
        try:
            result = roll_up_downloads(self.database, self.clock, self.retention_days)
        except Exception:
            log.exception("rolling up download counts failed; will retry tomorrow")
            result = None
        self._rolled_up = today
        return result

    def _run(self) -> None:
        while not self._stop.wait(self.flush_seconds):
            try:
                self.recorder.flush()
            except Exception:
                log.exception("flushing download counts failed; they are kept for the next try")
            self.roll_up_daily()

    def stop(self) -> int:
        """Stop the thread, then flush what is left; returns the downloads stored."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=60)
            self._thread = None
        for attempt in range(1, SHUTDOWN_FLUSH_TRIES + 1):
            try:
                return self.recorder.flush()
            except Exception:
                log.exception("flushing download counts at shutdown failed (try %d)", attempt)
                time.sleep(0.5 * attempt)
        log.error("%d download(s) could not be stored at shutdown", self.recorder.pending())
        return 0
