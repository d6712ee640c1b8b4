"""imported evidence: the criteria and accepted audits of communities on other registries
that policies here accept (docs/communities.md, "Remote acceptFrom communities").

Revision ID: 0023_imported_evidence
Revises: 0021_community_federation
Create Date: 2026-12-04 19:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import fpmreg.server.db

revision = "0023_imported_evidence"
down_revision = "0021_community_federation"
branch_labels = None
depends_on = None

_TIME = fpmreg.server.db.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "imported_communities",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uri", sa.String(length=512), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("checked_at", _TIME, nullable=True),
        sa.Column("imported_at", _TIME, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_imported_communities")),
        sa.UniqueConstraint("uri", name=op.f("uq_imported_communities_uri")),
    )
    op.create_table(
        "imported_evidence",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("uri", sa.String(length=512), nullable=False),
        sa.Column("package", sa.String(length=128), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("log_index", sa.Integer(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["imported_communities.id"],
            name=op.f("fk_imported_evidence_source_id_imported_communities"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_imported_evidence")),
    )
    with op.batch_alter_table("imported_evidence") as batch:
        batch.create_index(batch.f("ix_imported_evidence_package"), ["package"])
        batch.create_index(batch.f("ix_imported_evidence_source_id"), ["source_id"])


def downgrade() -> None:
    op.drop_table("imported_evidence")
    op.drop_table("imported_communities")
