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

import asyncio
import contextlib
import threading
from typing import Any

from sqlalchemy import DDL, BigInteger, Connection, event, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column
from starlette.concurrency import run_in_threadpool

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
    DDL("INSERT INTO change_sequence (id, value) VALUES (1, 0)"),  # type: ignore[no-untyped-call]
)


class ChangeCounter:
    """Reads and bumps the change sequence of one database.

    Reads are on the hot path of every cached fpm answer, so the counter keeps one
    connection of its own, outside the pool, in autocommit: a read is one primary-key
    `SELECT` (~10 µs on SQLite, one round trip on PostgreSQL), with no pool checkout.
    A database whose sessions share one connection (the tests' rolled-back transaction)
    is read through a session instead, so its uncommitted writes count."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self._read = select(ChangeSequence.value).where(ChangeSequence.id == ROW_ID)
        self._bump = (
            update(ChangeSequence)
            .where(ChangeSequence.id == ROW_ID)
            .values(value=ChangeSequence.value + 1)
            .execution_options(synchronize_session=False)
        )
        self._shared_connection = isinstance(database.sessions.kw.get("bind"), Connection)
        self._lock = threading.Lock()  # one read at a time on the own connection
        self._own: Any = None
        self._inline = self._shared_connection or database.engine.dialect.name == "sqlite"
        self._running: asyncio.Future[int] | None = None  # the read in flight
        self._queued: asyncio.Future[int] | None = None  # the one after it
        self._reader: asyncio.Task[None] | None = None  # runs them

    async def current(self) -> int:
        """`value()` for the event loop, from a read that began after this call did.

        SQLite (a local file, microseconds) is read in place. Over a network
        (PostgreSQL) one read at a time runs in a worker thread, and every request that
        arrives while it runs waits for the next one, which begins after they asked: so
        no answer is older than the request, and a burst of requests costs two round
        trips, not one each, and never more than this one connection."""
        if self._inline:
            return self.value()
        loop = asyncio.get_running_loop()
        if self._running is None:
            self._running = loop.create_future()
            self._reader = loop.create_task(self._read_rounds())
            return await asyncio.shield(self._running)
        if self._queued is None:
            self._queued = loop.create_future()
        return await asyncio.shield(self._queued)

    async def _read_rounds(self) -> None:
        while self._running is not None:
            result = await run_in_threadpool(self.value)
            self._running.set_result(result)
            self._running, self._queued = self._queued, None

    def bump(self, session: Session) -> None:
        """Record a change in `session`'s transaction: seen once (and only if) it commits.

        Call it last in a service method: the row stays locked until the commit."""
        session.execute(self._bump)

    def value(self) -> int:
        """The committed value, or -1 when the database cannot be read (then nothing is
        served from a cache: the request asks the database and answers its error)."""
        if self._shared_connection:
            with self.database.sessions() as session:
                return int(session.scalar(self._read) or 0)
        for _ in range(2):  # a connection the server dropped is replaced once
            try:
                return self._read_own()
            except Exception:
                self._close_own()
        return -1

    def _read_own(self) -> int:
        with self._lock:
            if self._own is None:
                self._own = _autocommit_connection(self.database)
            cursor = self._own.cursor()
            try:
                cursor.execute(_READ_SQL)
                row = cursor.fetchone()
            finally:
                cursor.close()
        return int(row[0]) if row else 0

    def _close_own(self) -> None:
        with self._lock:
            own, self._own = self._own, None
        if own is not None:
            with contextlib.suppress(Exception):
                own.close()


_READ_SQL = "SELECT value FROM change_sequence WHERE id = 1"  # ROW_ID


def _autocommit_connection(database: Database) -> Any:
    """A driver connection of the engine's, taken out of its pool, that sees every commit."""
    proxied = database.engine.raw_connection()
    raw: Any = proxied.driver_connection
    proxied.detach()  # never handed back to the pool with autocommit on
    if database.engine.dialect.name == "sqlite":
        raw.isolation_level = None  # pysqlite: no implicit BEGIN, each read is its own
    else:
        raw.autocommit = True  # psycopg: no transaction left open between reads
    return raw
