"""review quorum: a community may need several distinct reviewers to accept an audit,
whose acceptances are kept until the quorum is reached (docs/communities.md, "Vetting").

Revision ID: 0025_review_quorum
Revises: 0024_policy_credentials
Create Date: 2026-12-04 19:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import fpmreg.server.db

revision = "0025_review_quorum"
down_revision = "0024_policy_credentials"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("communities") as batch:
        batch.add_column(
            sa.Column("reviews_needed", sa.Integer(), nullable=False, server_default="1")
        )
    op.create_table(
        "community_audit_approvals",
        sa.Column("audit_id", sa.Integer(), nullable=False),
        sa.Column("reviewer_id", sa.Integer(), nullable=False),
        sa.Column("approved_at", fpmreg.server.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["audit_id"],
            ["community_audits.id"],
            name=op.f("fk_community_audit_approvals_audit_id_community_audits"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["reviewer_id"],
            ["users.id"],
            name=op.f("fk_community_audit_approvals_reviewer_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "audit_id", "reviewer_id", name=op.f("pk_community_audit_approvals")
        ),
    )


def downgrade() -> None:
    op.drop_table("community_audit_approvals")
    with op.batch_alter_table("communities") as batch:
        batch.drop_column("reviews_needed")
