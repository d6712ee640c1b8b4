"""The jobs table: background work that survives restarts (mail, later builds, deliveries).

A job is claimed with a lease (`locked_until`), renewed while the job runs: a worker
that dies mid-job stops renewing, and another worker takes the job over once the lease
runs out. PostgreSQL claims with
`FOR UPDATE SKIP LOCKED`; SQLite serialises writers, so a plain update claims.

Delivery is at least once: a worker killed after its handler's side effect (a mail
handed to the server) and before its commit leaves the job to be run again. Handlers
that can, make a repeat harmless (the mail keeps one `Message-ID` per job).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ColumnElement, Index, String, Text, and_, or_, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from fpmreg.server.clock import Clock
from fpmreg.server.db import Base, Database

log = logging.getLogger(__name__)

# A mail server down for a few hours is retried through; then the job is given up.
DEFAULT_MAX_ATTEMPTS = 8
# Back-off after a failed run: 1, 2, 4 ... minutes, capped at an hour, so the eight
# attempts span about two hours (a mail server's restart or a short outage).
RETRY_BASE_SECONDS = 60.0
RETRY_MAX_SECONDS = 3600.0
# How long a claim holds a job: far longer than a job takes (an SMTP send gives up after
# `mail.smtp.SMTP_TIMEOUT_SECONDS`), short enough that a killed worker's job is taken
# over within minutes.
DEFAULT_LEASE_SECONDS = 300.0
# An idle runner looks for due jobs this often: mail leaves within about a second.
DEFAULT_POLL_SECONDS = 1.0
# `last_error` keeps the start of a message; the worker's log has the rest.
MAX_ERROR_CHARS = 500
# The width of `jobs.locked_by`.
MAX_WORKER_ID_CHARS = 64


class JobStatus(StrEnum):
    """Where a job is."""

    QUEUED = "queued"  # waiting for `run_after`, or for a worker
    RUNNING = "running"  # claimed; the lease runs until `locked_until`
    DONE = "done"
    FAILED = "failed"  # gave up after `max_attempts`


class Job(Base):
    """One unit of background work."""

    __tablename__ = "jobs"
    __table_args__ = (Index("ix_jobs_claim", "status", "run_after"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(64))  # e.g. `mail.send`
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16), default=JobStatus.QUEUED)
    attempts: Mapped[int] = mapped_column(default=0)
    max_attempts: Mapped[int] = mapped_column(default=DEFAULT_MAX_ATTEMPTS)
    created_at: Mapped[datetime]
    run_after: Mapped[datetime]
    locked_until: Mapped[datetime | None]
    locked_by: Mapped[str] = mapped_column(String(64), default="")
    last_error: Mapped[str] = mapped_column(Text, default="")
    finished_at: Mapped[datetime | None]


def enqueue(
    session: Session,
    kind: str,
    payload: dict[str, Any],
    *,
    at: datetime,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
) -> Job:
    """Add a job in the caller's transaction: it runs only if that transaction commits."""
    job = Job(
        kind=kind,
        payload=payload,
        status=JobStatus.QUEUED,
        attempts=0,
        max_attempts=max_attempts,
        created_at=at,
        run_after=at,
    )
    session.add(job)
    return job


# --- handlers -------------------------------------------------------------------------


class PermanentJobError(Exception):
    """A job that can never succeed (a refused recipient): failed at once, no retries.

    Its message is stored in `last_error`, so it must hold no secrets or addresses."""


class RetryableJobError(Exception):
    """A job that may succeed later (a mail server that said 451): retried with back-off.

    Its message is stored in `last_error`, so it must hold no secrets or addresses."""


@dataclass(frozen=True)
class JobContext:
    """What a handler gets: the job's payload and a session of its own transaction."""

    job_id: int
    kind: str
    attempt: int  # 1 for the first run
    payload: dict[str, Any]
    session: Session  # committed by the runner when the handler returns
    now: datetime


Handler = Callable[[JobContext], None]
# Which function runs a job of a kind; built by `create_app` or the worker, never global.
Handlers = Mapping[str, Handler]


def retry_delay(attempts: int, base_seconds: float = RETRY_BASE_SECONDS) -> timedelta:
    """Exponential back-off after the `attempts`-th failed run, capped."""
    return timedelta(seconds=min(base_seconds * 2 ** max(attempts - 1, 0), RETRY_MAX_SECONDS))


def _safe_error(exc: BaseException) -> str:
    # Only our own job errors carry a message written to be stored; anything else (an
    # SMTP reply quoting an address, a driver error with a URL) is stored by type only.
    if isinstance(exc, PermanentJobError | RetryableJobError):
        return f"{type(exc).__name__}: {exc}"[:MAX_ERROR_CHARS]
    return f"{type(exc).__name__} (see the worker's log)"


# --- claiming -------------------------------------------------------------------------


@dataclass(frozen=True)
class Claim:
    """A job this worker holds until `locked_until`."""

    job_id: int
    kind: str
    attempts: int
    max_attempts: int
    payload: dict[str, Any]


def _due(now: datetime, kinds: Iterable[str]) -> ColumnElement[bool]:
    return and_(
        Job.kind.in_(list(kinds)),
        or_(
            and_(Job.status == JobStatus.QUEUED, Job.run_after <= now),
            and_(Job.status == JobStatus.RUNNING, Job.locked_until < now),
        ),
    )


def has_due(session: Session, now: datetime, kinds: Iterable[str]) -> bool:
    """Whether a job is waiting (a read: no write lock is taken when nothing is due)."""
    return session.scalar(select(Job.id).where(_due(now, kinds)).limit(1)) is not None


def claim(
    session: Session, now: datetime, kinds: Iterable[str], *, worker_id: str, lease: timedelta
) -> Claim | None:
    """Take one due job of `kinds` (queued and due, or running with an expired lease) in
    one statement, and commit. PostgreSQL skips rows another worker has locked
    (`FOR UPDATE SKIP LOCKED`); SQLite serialises writers, so its conditional `UPDATE`
    cannot hand one job to two workers."""
    kinds = list(kinds)
    if not kinds:
        return None
    candidate = (
        select(Job.id)
        .where(_due(now, kinds))
        .order_by(Job.run_after, Job.id)
        .limit(1)
        .with_for_update(skip_locked=True)  # not rendered on SQLite
        .scalar_subquery()
    )
    statement = (
        update(Job)
        .where(Job.id == candidate, _due(now, kinds))
        .values(
            status=JobStatus.RUNNING,
            locked_by=worker_id,
            locked_until=now + lease,
            attempts=Job.attempts + 1,
        )
        .returning(Job.id, Job.kind, Job.attempts, Job.max_attempts, Job.payload)
        .execution_options(synchronize_session=False)
    )
    try:
        row = session.execute(statement).one_or_none()
        session.commit()
    except BaseException:
        session.rollback()
        raise
    if row is None:
        return None
    return Claim(row.id, row.kind, row.attempts, row.max_attempts, dict(row.payload))


def _held(claim_: Claim, worker_id: str) -> ColumnElement[bool]:
    # The fence: a worker whose lease ran out (and was taken over) changes nothing.
    return and_(
        Job.id == claim_.job_id,
        Job.status == JobStatus.RUNNING,
        Job.locked_by == worker_id,
        Job.attempts == claim_.attempts,
    )


def _record_failure(
    session: Session,
    claim_: Claim,
    exc: BaseException,
    now: datetime,
    *,
    worker_id: str,
    retry_base_seconds: float,
) -> str:
    give_up = isinstance(exc, PermanentJobError) or claim_.attempts >= claim_.max_attempts
    values: dict[str, Any] = {"last_error": _safe_error(exc), "locked_until": None}
    if give_up:
        values.update(status=JobStatus.FAILED, finished_at=now)
    else:
        values.update(
            status=JobStatus.QUEUED,
            locked_by="",
            run_after=now + retry_delay(claim_.attempts, retry_base_seconds),
        )
    session.execute(
        update(Job)
        .where(_held(claim_, worker_id))
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    session.commit()
    return JobStatus.FAILED if give_up else JobStatus.QUEUED


# --- running --------------------------------------------------------------------------


class JobRunner:
    """Claims and runs jobs, one at a time, each in its own session and transaction.

    `fpmreg-server worker` runs one in the foreground; on the embedded default every
    server process runs one in a daemon thread (`start`/`stop`, from the lifespan)."""

    def __init__(
        self,
        database: Database,
        clock: Clock,
        handlers: Handlers,
        *,
        worker_id: str,
        lease_seconds: float = DEFAULT_LEASE_SECONDS,
        poll_seconds: float = DEFAULT_POLL_SECONDS,
        retry_base_seconds: float = RETRY_BASE_SECONDS,
    ) -> None:
        self.database = database
        self.clock = clock
        self.handlers = dict(handlers)
        self.worker_id = worker_id[:MAX_WORKER_ID_CHARS]
        self.lease = timedelta(seconds=lease_seconds)
        self.poll_seconds = poll_seconds
        self.retry_base_seconds = retry_base_seconds
        self.stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def run_one(self) -> bool:
        """Claim one due job and run it; False when none was due."""
        now = self.clock.now()
        with self.database.session() as session:
            if not has_due(session, now, self.handlers):
                return False
            session.rollback()  # end the read before the write (SQLite snapshots)
            claimed = claim(session, now, self.handlers, worker_id=self.worker_id, lease=self.lease)
        if claimed is None:
            return False
        self._run(claimed)
        return True

    def _run(self, claimed: Claim) -> None:
        with _Heartbeat(self, claimed):
            self._run_held(claimed)

    def _run_held(self, claimed: Claim) -> None:
        handler = self.handlers[claimed.kind]
        with self.database.session() as session:
            context = JobContext(
                claimed.job_id,
                claimed.kind,
                claimed.attempts,
                claimed.payload,
                session,
                self.clock.now(),
            )
            try:
                handler(context)
                done = session.execute(
                    update(Job)
                    .where(_held(claimed, self.worker_id))
                    .values(
                        status=JobStatus.DONE,
                        finished_at=self.clock.now(),
                        locked_until=None,
                        last_error="",
                    )
                    .execution_options(synchronize_session=False)
                )
                if done.rowcount == 0:  # type: ignore[attr-defined]
                    session.rollback()
                    log.warning("job %d (%s): lease lost, left to its new worker", *_ids(claimed))
                    return
                session.commit()
            except Exception as exc:
                session.rollback()
                status = _record_failure(
                    session,
                    claimed,
                    exc,
                    self.clock.now(),
                    worker_id=self.worker_id,
                    retry_base_seconds=self.retry_base_seconds,
                )
                # The type only: messages of foreign errors may quote addresses.
                log.warning(
                    "job %d (%s) attempt %d failed with %s; now %s",
                    claimed.job_id,
                    claimed.kind,
                    claimed.attempts,
                    type(exc).__name__,
                    status,
                )
                return
        log.info("job %d (%s) done", *_ids(claimed))

    def run_until_idle(self) -> int:
        """Run jobs until none is due (or `stop` was asked); returns how many ran."""
        ran = 0
        while not self.stopping.is_set() and self.run_one():
            ran += 1
        return ran

    def run_forever(self) -> None:
        """Run jobs until `stop` is asked, polling every `poll_seconds` when idle; the
        job in hand is finished first. A database error is logged and retried."""
        while not self.stopping.is_set():
            try:
                self.run_until_idle()
            except Exception:
                log.exception("the job runner could not reach the database; retrying")
            self.stopping.wait(self.poll_seconds)

    def start(self) -> None:
        """Run jobs in a daemon thread of this process."""
        if self._thread is not None:
            return
        self.stopping.clear()
        self._thread = threading.Thread(target=self.run_forever, name="fpmreg-jobs", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Ask the loop to stop and wait for the job in hand (at most one lease)."""
        self.stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=self.lease.total_seconds())
            self._thread = None


class _Heartbeat:
    """Renews the lease of the job in hand every third of the lease while it runs.

    So a job may take longer than `FPMREG_JOB_LEASE_SECONDS` (a build, say) without
    another worker taking it over; only a worker that stopped renewing (killed, cut off
    from the database) loses its jobs, one lease after its last renewal. A renewal is
    fenced like the completion: it changes nothing once the lease was taken over.
    docs/operating.md, "Background jobs and mail"."""

    def __init__(self, runner: JobRunner, claimed: Claim) -> None:
        self.runner = runner
        self.claimed = claimed
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._beat, name="fpmreg-lease", daemon=True)

    def __enter__(self) -> _Heartbeat:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.done.set()
        self.thread.join()

    def _beat(self) -> None:
        runner = self.runner
        while not self.done.wait(runner.lease.total_seconds() / 3):
            try:
                with runner.database.session() as session:
                    session.execute(
                        update(Job)
                        .where(_held(self.claimed, runner.worker_id))
                        .values(locked_until=runner.clock.now() + runner.lease)
                        .execution_options(synchronize_session=False)
                    )
                    session.commit()
            except Exception as exc:  # the next beat tries again; the lease may run out
                log.warning(
                    "job %d: lease not renewed (%s)", self.claimed.job_id, type(exc).__name__
                )


def _ids(claimed: Claim) -> tuple[int, str]:
    return claimed.job_id, claimed.kind


def default_worker_id() -> str:
    """`host:pid`, so an operator can tell which worker holds a job."""
    return f"{socket.gethostname()}:{os.getpid()}"
