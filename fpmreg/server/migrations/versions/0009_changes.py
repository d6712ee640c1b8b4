"""changes: the change sequence that keeps every process's fpm caches current

One row, bumped in the transaction of every fpm-visible change; each app process on
any host reads it before serving a cached answer (docs/operating.md, "Several hosts").
It replaces the counter file on local disk.

Revision ID: 0009_changes
Revises: 0008_front
Create Date: 2026-12-03 08:45:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_changes"
down_revision = "0008_front"
branch_labels = None
depends_on = None


def upgrade() -> None:
    table = op.create_table(
        "change_sequence",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_change_sequence")),
    )
    op.bulk_insert(table, [{"id": 1, "value": 0}])


def downgrade() -> None:
    op.drop_table("change_sequence")
