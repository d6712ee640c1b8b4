"""The change sequence: what a cache on any process reads before it answers.

On a database of its own (not the tests' shared connection), so the counter's own
connection is the one in use, as in production (docs/operating.md, "Several hosts").
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from fpmreg.server.changes import ChangeCounter
from fpmreg.server.db import Database
from tests.support.databases import fresh_database


@pytest.fixture
def database(tmp_path: Path) -> Iterator[Database]:
    with fresh_database(tmp_path) as url:
        database = Database.from_url(url)
        yield database
        database.engine.dispose()


def test_a_change_is_seen_once_its_transaction_commits(database: Database) -> None:
    reader, writer = ChangeCounter(database), ChangeCounter(database)  # two processes
    before = reader.value()
    with database.session() as session:
        writer.bump(session)
        session.flush()
        assert reader.value() == before  # not before the commit
        session.commit()
    assert reader.value() == before + 1


def test_a_rolled_back_change_never_counts(database: Database) -> None:
    counter = ChangeCounter(database)
    before = counter.value()
    with database.session() as session:
        counter.bump(session)
        session.rollback()
    assert counter.value() == before


def test_concurrent_readers_on_the_event_loop_all_see_the_last_commit(
    database: Database,
) -> None:
    counter = ChangeCounter(database)
    with database.session() as session:
        counter.bump(session)
        counter.bump(session)
        session.commit()
    expected = counter.value()

    async def many() -> list[int]:
        return await asyncio.gather(*(counter.current() for _ in range(200)))

    # On a thread of its own, with its own event loop: in the whole suite the browser
    # tests' Playwright keeps a loop running on the main thread.
    seen: list[list[int]] = []
    reader = threading.Thread(target=lambda: seen.append(asyncio.run(many())))
    reader.start()
    reader.join(timeout=60)
    assert seen and set(seen[0]) == {expected}
