"""Rewrites a package's front files after every commit that touched it.

The change sequence (`fpmreg.server.changes`) is bumped by every write that alters fpm's
answers: publish, yank, unyank, deprecate, quarantine and release, delete, transfer, an
advisory. All of them change a `Package` row or a row with a `package_id` (a version,
an advisory), so one session listener finds the packages without each service having
to say so: it notes them at each flush, and once the outermost transaction has
committed it rewrites their files (`FrontWriter`). The request's commit runs before its
answer is sent (`http.db_session`), so a publisher that got its answer finds the new
version in nginx's files. docs/operating.md, "Front server (nginx)".
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker

from fpmreg.server.front.writer import FrontWriter
from fpmreg.server.http import AppState
from fpmreg.server.packages.advisory_hook import AdvisoryHook
from fpmreg.server.packages.models import Package
from fpmreg.server.transaction import after_commit, after_rollback

_TOUCHED = "fpmreg_front_touched"


def touched_package_ids(session: Session) -> set[int]:
    """Packages whose rows this flush adds, changes or deletes."""
    found: set[int] = set()
    for row in (*session.new, *session.dirty, *session.deleted):
        if isinstance(row, Package):
            if row.id is not None:
                found.add(row.id)
            continue
        package_id = getattr(row, "package_id", None)
        if isinstance(package_id, int):
            found.add(package_id)
    return found


def install_front_hook(sessions: sessionmaker[Session], writer: FrontWriter) -> None:
    """Keep `writer`'s folder current for every session `sessions` makes."""

    def collect(session: Session, _context: Any) -> None:
        ids = touched_package_ids(session)
        if not ids:
            return
        pending: set[int] | None = session.info.get(_TOUCHED)
        if pending is None:
            pending = session.info[_TOUCHED] = set()

            def write() -> None:
                writer.write_packages(session.info.pop(_TOUCHED, set()))

            after_commit(session, write)
            after_rollback(session, lambda: session.info.pop(_TOUCHED, None))
        pending.update(ids)

    # After the flush: a new package has its id, and `new`/`dirty`/`deleted` still list
    # what was flushed.
    event.listen(sessions, "after_flush", collect)


def install_front(state: AppState, advisories: AdvisoryHook | None) -> FrontWriter | None:
    """With `FPMREG_FRONT_DIR` set, a writer for that folder, kept current after every
    commit of `state`'s sessions; None when it is not set."""
    if not state.settings.front_dir:
        return None
    writer = FrontWriter(state, Path(state.settings.front_dir), advisories)
    install_front_hook(state.database.sessions, writer)
    return writer
