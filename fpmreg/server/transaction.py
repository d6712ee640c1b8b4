"""Work to do when a session's transaction ends: before and after it commits, after it rolls back.

Services only `flush()`; whoever owns the transaction commits it (the request's
`db_session` dependency, or a CLI command or job). A service that changes something
outside the database registers what must follow the outcome here, e.g. the publish
removes the blob it wrote if the transaction rolls back and rewrites the front files
once it commits. The hooks ride on SQLAlchemy's session events, so they run whoever
commits, and only for the outermost transaction (never for a savepoint). A session
closed without a commit counts as rolled back.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

log = logging.getLogger(__name__)

Hook = Callable[[], None]
_KEY = "fpmreg_transaction_hooks"


class _Hooks:
    """The hooks of a session's current outermost transaction."""

    def __init__(self) -> None:
        self.before_commit: list[Hook] = []
        self.after_commit: list[Hook] = []
        self.after_rollback: list[Hook] = []
        self.committed = False

    def clear(self) -> None:
        self.before_commit.clear()
        self.after_commit.clear()
        self.after_rollback.clear()
        self.committed = False


def _hooks(session: Session) -> _Hooks:
    hooks: _Hooks | None = session.info.get(_KEY)
    if hooks is None:
        hooks = session.info[_KEY] = _Hooks()
        event.listen(session, "before_commit", _before_commit)
        event.listen(session, "after_commit", _after_commit)
        event.listen(session, "after_transaction_end", _after_transaction_end)
    return hooks


def before_commit(session: Session, hook: Hook) -> None:
    """Run `hook` just before the session's outermost transaction commits (a hook that
    another such hook registers runs too, after it: verdicts add log records)."""
    _hooks(session).before_commit.append(hook)


def after_commit(session: Session, hook: Hook) -> None:
    """Run `hook` once the session's outermost transaction has committed."""
    _hooks(session).after_commit.append(hook)


def after_rollback(session: Session, hook: Hook) -> None:
    """Run `hook` once the session's outermost transaction has rolled back (or was
    closed without a commit)."""
    _hooks(session).after_rollback.append(hook)


def _before_commit(session: Session) -> None:
    if session.in_nested_transaction():
        return
    hooks: _Hooks = session.info[_KEY]
    index = 0
    while index < len(hooks.before_commit):  # a hook may add hooks: they run too
        hooks.before_commit[index]()  # may raise: the commit then does not happen
        index += 1


def _after_commit(session: Session) -> None:
    if not session.in_nested_transaction():
        session.info[_KEY].committed = True


def _after_transaction_end(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is not None:
        return  # a savepoint or subtransaction: the outcome is not decided yet
    hooks: _Hooks = session.info[_KEY]
    todo = list(hooks.after_commit if hooks.committed else hooks.after_rollback)
    hooks.clear()
    for hook in todo:
        _run_quietly(hook)


def _run_quietly(hook: Any) -> None:
    # The transaction's outcome is final: a failing follow-up (a blob that cannot be
    # removed) is logged and left to the orphan sweep, not turned into an error.
    try:
        hook()
    except Exception:
        log.exception("a transaction follow-up failed")
