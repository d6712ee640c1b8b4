"""federation: the transparency log (size, entries, tree nodes, cosignatures) and what
this registry last cosigned as a witness of other logs

(docs/transparency-log.md, "The registry's log").

Revision ID: 0012_federation
Revises: 0010_builds
Create Date: 2026-12-03 08:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import fpmreg.server.db

revision = "0012_federation"
down_revision = "0010_builds"
branch_labels = None
depends_on = None


def upgrade() -> None:
    head = op.create_table(
        "log_head",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_log_head")),
    )
    op.bulk_insert(head, [{"id": 1, "size": 0}])
    op.create_table(
        "log_entries",
        sa.Column("index", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("subject", sa.String(length=256), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", fpmreg.server.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("index", name=op.f("pk_log_entries")),
    )
    op.create_index(op.f("ix_log_entries_subject"), "log_entries", ["subject"])
    op.create_table(
        "log_nodes",
        sa.Column("level", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("index", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("hash", sa.LargeBinary(length=32), nullable=False),
        sa.PrimaryKeyConstraint("level", "index", name=op.f("pk_log_nodes")),
    )

    op.create_table(
        "witness_state",
        sa.Column("origin", sa.String(length=256), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("root", sa.LargeBinary(length=32), nullable=False),
        sa.Column("updated_at", fpmreg.server.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("origin", name=op.f("pk_witness_state")),
    )
    op.create_table(
        "log_cosignatures",
        sa.Column("witness", sa.String(length=256), nullable=False),
        sa.Column("size", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("line", sa.String(length=512), nullable=False),
        sa.Column("created_at", fpmreg.server.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("witness", "size", name=op.f("pk_log_cosignatures")),
    )


def downgrade() -> None:
    op.drop_table("log_cosignatures")
    op.drop_table("witness_state")
    op.drop_table("log_nodes")
    op.drop_index(op.f("ix_log_entries_subject"), table_name="log_entries")
    op.drop_table("log_entries")
    op.drop_table("log_head")
