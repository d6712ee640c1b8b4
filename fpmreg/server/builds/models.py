"""The builds table: one row per version, the outcome and log of its latest build."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from fpmreg.server.db import Base

# The width of `summary`: one line shown on the version page.
MAX_SUMMARY_CHARS = 500
# The log kept of a build (its last part when longer: the error is at the end). A page of
# compiler errors is a few KiB; a runaway program's output is cut here.
MAX_LOG_CHARS = 64 * 1024
# Versions of programs as they print them (`12.2.0`, `0.12.0`).
MAX_TOOL_VERSION_CHARS = 64


class BuildOutcome(StrEnum):
    """How a build ended (docs/builds.md, "What the page shows")."""

    PENDING = "pending"  # queued or running
    PASSED = "passed"  # `fpm build` (and `fpm test`, when there are tests) succeeded
    FAILED = "failed"  # the build or the tests failed, or a limit other than time ended it
    TIMED_OUT = "timed-out"  # the wall-time or CPU-time limit ended it
    NOT_VERIFIED = "not-verified"  # the registry could not try (its dependencies, tools)


class Build(Base):
    """The latest build of one version; a rebuild replaces it."""

    __tablename__ = "builds"

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(
        ForeignKey("versions.id", ondelete="CASCADE"), unique=True
    )
    outcome: Mapped[str] = mapped_column(String(16), default=BuildOutcome.PENDING)
    summary: Mapped[str] = mapped_column(String(MAX_SUMMARY_CHARS), default="")
    fpm_version: Mapped[str] = mapped_column(String(MAX_TOOL_VERSION_CHARS), default="")
    compiler_version: Mapped[str] = mapped_column(String(MAX_TOOL_VERSION_CHARS), default="")
    tests_run: Mapped[bool] = mapped_column(default=False)
    dependencies_verified: Mapped[bool] = mapped_column(default=True)
    log: Mapped[str] = mapped_column(Text, default="")
    queued_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
