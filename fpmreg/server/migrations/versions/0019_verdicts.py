"""verdicts: the signed verdicts of releases against communities' policies
(docs/communities.md, "Verdicts").

Revision ID: 0019_verdicts
Revises: 0018_communities
Create Date: 2026-12-04 19:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import fpmreg.server.db

revision = "0019_verdicts"
down_revision = "0018_communities"
branch_labels = None
depends_on = None

_TIME = fpmreg.server.db.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "community_verdicts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("policy_id", sa.Integer(), nullable=False),
        sa.Column("policy_slug", sa.String(length=63), nullable=False),
        sa.Column("package", sa.String(length=128), nullable=False),
        sa.Column("version", sa.String(length=32), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("result", sa.String(length=8), nullable=False),
        sa.Column("inputs", sa.JSON(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("body_sha256", sa.String(length=64), nullable=False),
        sa.Column("verified_at", _TIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["community_id"],
            ["communities.id"],
            name=op.f("fk_community_verdicts_community_id_communities"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["policy_id"],
            ["community_documents.id"],
            name=op.f("fk_community_verdicts_policy_id_community_documents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_community_verdicts")),
    )
    with op.batch_alter_table("community_verdicts") as batch:
        batch.create_index(batch.f("ix_community_verdicts_community_id"), ["community_id"])
        batch.create_index("ix_community_verdicts_current", ["package", "version", "policy_slug"])


def downgrade() -> None:
    op.drop_table("community_verdicts")
