"""mirrors: the registries this one mirrors, the releases taken from them with their
proofs, and the log entries refused (docs/mirrors.md).

Revision ID: 0015_mirrors
Revises: 0014_remote_reports
Create Date: 2026-12-03 13:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import fpmreg.server.db

revision = "0015_mirrors"
down_revision = "0014_remote_reports"
branch_labels = None
depends_on = None

UTC = fpmreg.server.db.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "mirror_sources",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("origin", sa.String(length=256), nullable=False),
        sa.Column("remote_actor", sa.String(length=512), nullable=False),
        sa.Column("remote_namespace", sa.String(length=64), nullable=False),
        sa.Column("remote_package", sa.String(length=64), nullable=False),
        sa.Column("local_namespace_id", sa.Integer(), nullable=False),
        sa.Column("log_origin", sa.String(length=256), nullable=False),
        sa.Column("note_key", sa.String(length=512), nullable=False),
        sa.Column("record_keys", sa.Text(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("root", sa.LargeBinary(length=32), nullable=False),
        sa.Column("checkpoint", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("status_reason", sa.Text(), nullable=False),
        sa.Column("follow_id", sa.String(length=512), nullable=False),
        sa.Column("accepted_at", UTC, nullable=True),
        sa.Column("synced_at", UTC, nullable=True),
        sa.Column("created_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(
            ["local_namespace_id"],
            ["namespaces.id"],
            name=op.f("fk_mirror_sources_local_namespace_id_namespaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mirror_sources")),
        sa.UniqueConstraint(
            "origin",
            "remote_namespace",
            "remote_package",
            name=op.f("uq_mirror_sources_origin_remote_namespace_remote_package"),
        ),
    )
    op.create_index(
        op.f("ix_mirror_sources_local_namespace_id"), "mirror_sources", ["local_namespace_id"]
    )
    op.create_table(
        "mirrored_releases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("log_index", sa.BigInteger(), nullable=False),
        sa.Column("subject", sa.String(length=256), nullable=False),
        sa.Column("local_subject", sa.String(length=256), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("record", sa.LargeBinary(), nullable=False),
        sa.Column("checkpoint", sa.Text(), nullable=False),
        sa.Column("mirrored_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["mirror_sources.id"],
            name=op.f("fk_mirrored_releases_source_id_mirror_sources"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mirrored_releases")),
        sa.UniqueConstraint(
            "source_id", "log_index", name=op.f("uq_mirrored_releases_source_id_log_index")
        ),
    )
    op.create_index(op.f("ix_mirrored_releases_source_id"), "mirrored_releases", ["source_id"])
    op.create_index(op.f("ix_mirrored_releases_subject"), "mirrored_releases", ["subject"])
    op.create_index(
        op.f("ix_mirrored_releases_local_subject"), "mirrored_releases", ["local_subject"]
    )
    op.create_table(
        "mirror_refusals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("log_index", sa.BigInteger(), nullable=False),
        sa.Column("subject", sa.String(length=256), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("refused_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["mirror_sources.id"],
            name=op.f("fk_mirror_refusals_source_id_mirror_sources"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mirror_refusals")),
    )
    op.create_index(op.f("ix_mirror_refusals_source_id"), "mirror_refusals", ["source_id"])


def downgrade() -> None:
    op.drop_table("mirror_refusals")
    op.drop_table("mirrored_releases")
    op.drop_table("mirror_sources")
