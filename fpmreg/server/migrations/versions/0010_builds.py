"""builds: the outcome and log of the registry's build of each version

One row per version (docs/builds.md, "Build verification"), replaced by a rebuild.

Revision ID: 0010_builds
Revises: 0009_changes
Create Date: 2026-12-03 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import fpmreg.server.db

revision = "0010_builds"
down_revision = "0009_changes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "builds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("summary", sa.String(length=500), nullable=False),
        sa.Column("fpm_version", sa.String(length=64), nullable=False),
        sa.Column("compiler_version", sa.String(length=64), nullable=False),
        sa.Column("tests_run", sa.Boolean(), nullable=False),
        sa.Column("dependencies_verified", sa.Boolean(), nullable=False),
        sa.Column("log", sa.Text(), nullable=False),
        sa.Column("queued_at", fpmreg.server.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", fpmreg.server.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["versions.id"],
            name=op.f("fk_builds_version_id_versions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_builds")),
        sa.UniqueConstraint("version_id", name=op.f("uq_builds_version_id")),
    )


def downgrade() -> None:
    op.drop_table("builds")
