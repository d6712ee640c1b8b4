"""community federation: audits offered by remote auditors, and the Offers this
registry's users sent to remote communities (docs/communities.md, "Audits from other
registries").

Revision ID: 0021_community_federation
Revises: 0020_organisations
Create Date: 2026-12-04 19:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import fpmreg.server.db

revision = "0021_community_federation"
down_revision = "0020_organisations"
branch_labels = None
depends_on = None

_TIME = fpmreg.server.db.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "community_remote_audits",
        sa.Column("audit_id", sa.Integer(), nullable=False),
        sa.Column("actor", sa.String(length=512), nullable=False),
        sa.Column("offer_id", sa.String(length=512), nullable=False),
        sa.Column("inbox", sa.String(length=512), nullable=False),
        sa.Column("received_at", _TIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["audit_id"],
            ["community_audits.id"],
            name=op.f("fk_community_remote_audits_audit_id_community_audits"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("audit_id", name=op.f("pk_community_remote_audits")),
        sa.UniqueConstraint("offer_id", name=op.f("uq_community_remote_audits_offer_id")),
    )
    op.create_table(
        "audit_submissions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("community", sa.String(length=512), nullable=False),
        sa.Column("offer_id", sa.String(length=512), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("result", sa.String(length=512), nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("decided_at", _TIME, nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_audit_submissions_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_submissions")),
        sa.UniqueConstraint("offer_id", name=op.f("uq_audit_submissions_offer_id")),
    )
    with op.batch_alter_table("audit_submissions") as batch:
        batch.create_index(batch.f("ix_audit_submissions_user_id"), ["user_id"])


def downgrade() -> None:
    op.drop_table("audit_submissions")
    op.drop_table("community_remote_audits")
