"""confusable skeletons of user and namespace names; README HTML rendered at publish

`users.confusable` and `namespaces.confusable` hold `confusable_name(name)` so that a
new name that looks like a taken one (`tooIbox` next to `toolbox`) is refused with one
indexed query. `versions.readme_html` holds the README rendered once at publish.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 21:40:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from fpmreg.core.names import confusable_name

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_NAMED = {"users": "username", "namespaces": "name"}


def upgrade() -> None:
    for table, column in _NAMED.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(
                sa.Column("confusable", sa.String(length=64), nullable=False, server_default="")
            )
            batch_op.create_index(batch_op.f(f"ix_{table}_confusable"), ["confusable"])
        rows = sa.table(table, sa.column("id"), sa.column(column), sa.column("confusable"))
        bind = op.get_bind()
        for row_id, name in bind.execute(sa.select(rows.c.id, rows.c[column])).all():
            bind.execute(
                rows.update().where(rows.c.id == row_id).values(confusable=confusable_name(name))
            )
    with op.batch_alter_table("versions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("readme_html", sa.Text(), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("versions", schema=None) as batch_op:
        batch_op.drop_column("readme_html")
    for table in _NAMED:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(batch_op.f(f"ix_{table}_confusable"))
            batch_op.drop_column("confusable")
