"""remote reports: reports that came as ActivityPub `Flag`s, the Flags received (one
report per Flag id) and the Flags this registry sent, with the decisions that came back
(docs/activitypub.md, "Federated reports").

Revision ID: 0014_remote_reports
Revises: 0013_activitypub
Create Date: 2026-12-03 13:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import fpmreg.server.db

revision = "0014_remote_reports"
down_revision = "0013_activitypub"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("reports") as batch:
        batch.add_column(
            sa.Column("remote_actor", sa.String(length=512), nullable=False, server_default="")
        )
        batch.add_column(
            sa.Column("remote_flag_id", sa.String(length=512), nullable=False, server_default="")
        )
    op.create_table(
        "ap_incoming_flags",
        sa.Column("flag_id", sa.String(length=512), nullable=False),
        sa.Column("remote_actor", sa.String(length=512), nullable=False),
        sa.Column("remote_host", sa.String(length=256), nullable=False),
        sa.Column("inbox", sa.String(length=512), nullable=False),
        sa.Column("report_id", sa.Integer(), nullable=False),
        sa.Column("received_at", fpmreg.server.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("flag_id", name=op.f("pk_ap_incoming_flags")),
    )
    op.create_index(op.f("ix_ap_incoming_flags_remote_host"), "ap_incoming_flags", ["remote_host"])
    op.create_table(
        "ap_outgoing_flags",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("flag_id", sa.String(length=512), nullable=False),
        sa.Column("remote_object", sa.String(length=512), nullable=False),
        sa.Column("inbox", sa.String(length=512), nullable=False),
        sa.Column("report_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("decision", sa.String(length=32), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("created_at", fpmreg.server.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("decided_at", fpmreg.server.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ap_outgoing_flags")),
        sa.UniqueConstraint("flag_id", name=op.f("uq_ap_outgoing_flags_flag_id")),
    )


def downgrade() -> None:
    op.drop_table("ap_outgoing_flags")
    op.drop_index(op.f("ix_ap_incoming_flags_remote_host"), table_name="ap_incoming_flags")
    op.drop_table("ap_incoming_flags")
    with op.batch_alter_table("reports") as batch:
        batch.drop_column("remote_flag_id")
        batch.drop_column("remote_actor")
