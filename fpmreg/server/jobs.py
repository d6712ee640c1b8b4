"""The jobs table: background work that survives restarts (mail, later builds, deliveries).

A job is claimed with a lease (`locked_until`): a worker that dies mid-job loses its
lease and another worker takes the job over. PostgreSQL claims with
`FOR UPDATE SKIP LOCKED`; SQLite serialises writers, so a plain update claims.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Index, String, Text
from sqlalchemy.orm import Mapped, Session, mapped_column

from fpmreg.server.db import Base

# A mail server down for a few hours is retried through; then the job is given up.
DEFAULT_MAX_ATTEMPTS = 8


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
