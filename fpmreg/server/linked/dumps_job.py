"""The daily dump as a job that queues its next run (docs/dumps.md, "Schedule"): the
jobs table has no recurring schedule, so each run queues tomorrow's in its own
transaction. `fpmreg-server dump schedule` starts (or restarts) the chain."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from fpmreg.server.errors import Conflict
from fpmreg.server.jobs import Job, JobContext, JobStatus, RetryableJobError, enqueue
from fpmreg.server.linked.dumps import write_dump
from fpmreg.server.storage import BlobStore, StorageUnavailable

log = logging.getLogger(__name__)

WRITE_DUMP = "linked.dump"
# A quarter past midnight UTC: the day just ended is complete, and the run is clear of
# the midnight roll-ups (docs/operating.md, "Downloads and metrics").
RUN_AT = time(0, 15)


def next_run(now: datetime) -> datetime:
    """The next quarter past midnight UTC after `now`."""
    today = datetime.combine(now.date(), RUN_AT, tzinfo=now.tzinfo)
    return today if now < today else today + timedelta(days=1)


def schedule_dump(session: Session, now: datetime) -> bool:
    """Queue the next daily dump unless one is already waiting; True if one was queued."""
    waiting = session.scalar(
        select(Job.id).where(Job.kind == WRITE_DUMP, Job.status == JobStatus.QUEUED).limit(1)
    )
    if waiting is not None:
        return False
    enqueue(session, WRITE_DUMP, {}, at=next_run(now))
    return True


@dataclass
class WriteDailyDump:
    """The `linked.dump` job's handler: today's dump, then tomorrow's run queued."""

    store: BlobStore
    base_url: str
    keep: int

    def __call__(self, context: JobContext) -> None:
        day = context.now.date()
        try:
            result = write_dump(context.session, self.store, self.base_url, day, keep=self.keep)
            log.info("dump %s: %d package(s)", result.entry.file, result.entry.packages)
        except Conflict:  # written by hand today with other facts: that one is kept
            log.info("dump of %s already written; kept", day.isoformat())
        except StorageUnavailable as exc:  # retried with back-off, then given up
            raise RetryableJobError("blob storage is unavailable") from exc
        schedule_dump(context.session, context.now)
