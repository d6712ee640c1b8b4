"""credentials: the verifiable credentials the registry issued and their status list
entries (docs/credentials.md).

Revision ID: 0017_credentials
Revises: 0016_expectations
Create Date: 2026-12-04 15:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import fpmreg.server.db

revision = "0017_credentials"
down_revision = "0016_expectations"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "credentials",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=True),
        sa.Column("namespace", sa.String(length=64), nullable=False),
        sa.Column("package", sa.String(length=64), nullable=False),
        sa.Column("version", sa.String(length=32), nullable=False),
        sa.Column("status_list", sa.Integer(), nullable=False),
        sa.Column("status_index", sa.Integer(), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("issued_at", fpmreg.server.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", fpmreg.server.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("revoke_reason", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["versions.id"],
            name=op.f("fk_credentials_version_id_versions"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credentials")),
        sa.UniqueConstraint(
            "status_list", "status_index", name=op.f("uq_credentials_status_list_status_index")
        ),
    )
    op.create_index(op.f("ix_credentials_version_id"), "credentials", ["version_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_credentials_version_id"), table_name="credentials")
    op.drop_table("credentials")
