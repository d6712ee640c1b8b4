"""Tables of the front: where the download-log ingest has read up to."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from fpmreg.server.db import Base

# Longest log path the cursor table keeps (Linux's PATH_MAX is 4,096; ours are short).
MAX_LOG_PATH = 1024


class LogCursor(Base):
    """How far the ingest has read one nginx download log, updated in the same
    transaction as the counts it added, so no line is lost or counted twice.

    The file is recognised by its inode and the SHA-256 of its first line: a rotation
    (rename and a new file, or copytruncate) changes one or the other."""

    __tablename__ = "front_log_cursors"

    path: Mapped[str] = mapped_column(String(MAX_LOG_PATH), primary_key=True)
    inode: Mapped[int] = mapped_column(BigInteger)
    offset: Mapped[int] = mapped_column(BigInteger)
    first_line_sha256: Mapped[str] = mapped_column(String(64))
    counted: Mapped[int] = mapped_column(BigInteger, default=0)  # downloads added, all time
    skipped: Mapped[int] = mapped_column(BigInteger, default=0)  # malformed lines, all time
    updated_at: Mapped[datetime]
