"""Alembic environment: the database URL comes from fpmreg's settings or the caller."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from fpmreg.server.db import Base, make_engine
from fpmreg.server.models import import_all_models

import_all_models()
config = context.config
url = config.attributes.get("database_url") or config.get_main_option("sqlalchemy.url")
connection = config.attributes.get("connection")


def _run(conn: Connection) -> None:
    context.configure(
        connection=conn, target_metadata=Base.metadata, render_as_batch=True, compare_type=True
    )
    with context.begin_transaction():
        context.run_migrations()


if connection is not None:
    _run(connection)
else:
    engine = make_engine(str(url))
    with engine.connect() as conn:
        _run(conn)
        conn.commit()
    engine.dispose()
