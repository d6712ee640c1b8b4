"""front: where the nginx download-log ingest has read up to

One row per log path: the inode and first-line hash of the file being read, the byte
offset of the first line not yet counted, and all-time counts of downloads added and
malformed lines skipped (docs/operating.md, "Front server (nginx)").

Revision ID: 0008_front
Revises: 0007
Create Date: 2026-12-02 19:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import fpmreg.server.db

revision = "0008_front"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "front_log_cursors",
        sa.Column("path", sa.String(length=1024), nullable=False),
        sa.Column("inode", sa.BigInteger(), nullable=False),
        sa.Column("offset", sa.BigInteger(), nullable=False),
        sa.Column("first_line_sha256", sa.String(length=64), nullable=False),
        sa.Column("counted", sa.BigInteger(), nullable=False),
        sa.Column("skipped", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", fpmreg.server.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("path", name=op.f("pk_front_log_cursors")),
    )


def downgrade() -> None:
    op.drop_table("front_log_cursors")
