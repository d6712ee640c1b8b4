"""The change sequence: one database row, so no process on any host serves stale fpm answers.

Every write that changes what the fpm API answers (publish, yank, deprecate,
quarantine, delete, transfer, an advisory) adds one to the row `change_sequence.value`
in its own transaction. Each per-process cache (`FpmMetadataCache`, `TarballCache`)
reads the value before it reads anything else and keeps an answer only while the value
is unchanged, so a commit on one app process is seen by every other process, on any
host, at its next request (docs/operating.md, "Several hosts").

Why one row and not a sequence or an append-only table: the `UPDATE` takes the row's
lock until the commit, so the value can only be seen to move together with the change
it stands for. A PostgreSQL sequence, or ids of inserted rows, are handed out before
the commit and in any order: a reader could see the new number before the data and
cache the old answer under it for good. The price is that writers of fpm-visible
changes take turns at their commit, which publishes already do.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import DDL, BigInteger, event, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from fpmreg.server.db import Base, Database

# The id of the one row.
ROW_ID = 1


class ChangeSequence(Base):
    """The one row whose value grows by one with every fpm-visible change."""

    __tablename__ = "change_sequence"

    id: Mapped[int] = mapped_column(primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger, default=0)


# A schema made without the migrations (`create_all`) gets the row as well.
event.listen(
    ChangeSequence.__table__,
    "after_create",
    DDL(f"INSERT INTO change_sequence (id, value) VALUES ({ROW_ID}, 0)"),
)


class ChangeCounter:
    """Reads and bumps the change sequence of one database."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self._read = select(ChangeSequence.value).where(ChangeSequence.id == ROW_ID)
        self._bump = (
            update(ChangeSequence)
            .where(ChangeSequence.id == ROW_ID)
            .values(value=ChangeSequence.value + 1)
            .execution_options(synchronize_session=False)
        )

    def bump(self, session: Session) -> None:
        """Record a change in `session`'s transaction: seen once (and only if) it commits.

        Call it last in a service method: the row stays locked until the commit."""
        session.execute(self._bump)

    def value(self) -> int:
        """The committed value (one primary-key read on a pooled connection)."""
        with self.database.sessions() as session:
            found: Any = session.scalar(self._read)
        return int(found or 0)
