"""Work registered for the end of a transaction (`fpmreg.server.transaction`): a
before-commit hook may register another, which runs too, before the commit (verdicts
add log records that way, docs/communities.md, "When a verdict is issued")."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from fpmreg.server.transaction import after_commit, after_rollback, before_commit


def test_a_hook_registered_by_a_before_commit_hook_runs_before_the_commit(
    sessions: sessionmaker[Session],
) -> None:
    ran: list[str] = []
    with sessions() as session:

        def first() -> None:
            ran.append("first")
            before_commit(session, lambda: ran.append("second"))

        before_commit(session, first)
        after_commit(session, lambda: ran.append("committed"))
        session.commit()
    assert ran == ["first", "second", "committed"]


def test_a_rollback_runs_no_before_commit_hook(sessions: sessionmaker[Session]) -> None:
    ran: list[str] = []
    with sessions() as session:
        session.execute(text("SELECT 1"))  # a transaction has begun
        before_commit(session, lambda: ran.append("before"))
        after_rollback(session, lambda: ran.append("rolled back"))
        session.rollback()
        session.commit()  # a new, empty transaction: the old hooks are gone
    assert ran == ["rolled back"]
