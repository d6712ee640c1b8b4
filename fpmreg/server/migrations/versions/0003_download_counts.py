"""download counts

Daily (and, after the rollup, monthly) download counts per version, client kind and CI
flag; all-time totals per version and per package, added to in the same transactions.
No column can hold an address.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 04:12:37.957168
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "download_counts",
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("period", sa.String(length=8), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("client", sa.String(length=16), nullable=False),
        sa.Column("ci", sa.Boolean(), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["versions.id"],
            name=op.f("fk_download_counts_version_id_versions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "version_id", "period", "day", "client", "ci", name=op.f("pk_download_counts")
        ),
    )
    with op.batch_alter_table("download_counts", schema=None) as batch_op:
        batch_op.create_index("ix_download_counts_day", ["day"], unique=False)

    op.create_table(
        "version_downloads",
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("package_id", sa.Integer(), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["package_id"],
            ["packages.id"],
            name=op.f("fk_version_downloads_package_id_packages"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["versions.id"],
            name=op.f("fk_version_downloads_version_id_versions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("version_id", name=op.f("pk_version_downloads")),
    )
    with op.batch_alter_table("version_downloads", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_version_downloads_package_id"), ["package_id"], unique=False
        )

    op.create_table(
        "package_downloads",
        sa.Column("package_id", sa.Integer(), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["package_id"],
            ["packages.id"],
            name=op.f("fk_package_downloads_package_id_packages"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("package_id", name=op.f("pk_package_downloads")),
    )


def downgrade() -> None:
    op.drop_table("package_downloads")
    with op.batch_alter_table("version_downloads", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_version_downloads_package_id"))

    op.drop_table("version_downloads")
    with op.batch_alter_table("download_counts", schema=None) as batch_op:
        batch_op.drop_index("ix_download_counts_day")

    op.drop_table("download_counts")
