"""Fresh databases for tests: a SQLite file, or a new PostgreSQL database.

`FPMREG_TEST_DATABASE_URL` (e.g. `postgresql://postgres@127.0.0.1:5432/test`) selects
PostgreSQL; each fresh database is created beside it and dropped afterwards.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from fpmreg.server.cli import alembic_config

TEST_DATABASE_URL = os.environ.get("FPMREG_TEST_DATABASE_URL", "")


def backend_name() -> str:
    """`postgresql` or `sqlite`: which leg this run is."""
    return "postgresql" if TEST_DATABASE_URL.startswith("postgres") else "sqlite"


@contextmanager
def fresh_database(tmp: Path) -> Iterator[str]:
    """The URL of a new, migrated, empty database; removed on exit."""
    if backend_name() == "sqlite":
        url = f"sqlite:///{tmp / f'fpmreg-{uuid.uuid4().hex[:8]}.db'}"
        command.upgrade(alembic_config(url), "head")
        yield url
        return
    with fresh_postgres_database(TEST_DATABASE_URL) as url:
        yield url


@contextmanager
def fresh_postgres_database(server_url: str, prefix: str = "fpmreg_test") -> Iterator[str]:
    """A new, migrated PostgreSQL database on the server of `server_url`; dropped on exit."""
    base = make_url(server_url.replace("postgresql://", "postgresql+psycopg://", 1))
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except BaseException:
        admin.dispose()
        raise
    url = base.set(database=name).render_as_string(hide_password=False)
    url = url.replace("postgresql+psycopg://", "postgresql://", 1)
    try:
        command.upgrade(alembic_config(url), "head")
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
