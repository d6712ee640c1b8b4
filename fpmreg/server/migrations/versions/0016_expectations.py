"""expectations: what a package's owners declare about its maintenance and security
reports (docs/expectations.md).

Revision ID: 0016_expectations
Revises: 0015_mirrors
Create Date: 2026-12-03 14:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import fpmreg.server.db

revision = "0016_expectations"
down_revision = "0015_mirrors"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "package_expectations",
        sa.Column("package_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("response", sa.String(length=16), nullable=False),
        sa.Column("contact", sa.String(length=254), nullable=False),
        sa.Column("supported", sa.String(length=100), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("updated_at", fpmreg.server.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["package_id"],
            ["packages.id"],
            name=op.f("fk_package_expectations_package_id_packages"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("package_id", name=op.f("pk_package_expectations")),
    )


def downgrade() -> None:
    op.drop_table("package_expectations")
