"""advisories: OSV records (draft, published, withdrawn) and the packages they name

Each advisory is stored whole as OSV JSON in `record`, with the columns the queries
need beside it: the OSV id (unique), the first affected package, draft state and the
published, modified and withdrawn times. `advisory_packages` lists every
(ecosystem, name) an advisory's `affected` names, for the OSV API's lookups.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 15:06:06.356252
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import fpmreg.server.db

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "advisories",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("osv_id", sa.String(length=128), nullable=False),
        sa.Column("ecosystem", sa.String(length=64), nullable=False),
        sa.Column("package", sa.String(length=300), nullable=False),
        sa.Column("package_id", sa.Integer(), nullable=True),
        sa.Column("record", sa.JSON(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("draft", sa.Boolean(), nullable=False),
        sa.Column("created_at", fpmreg.server.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("published_at", fpmreg.server.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("modified_at", fpmreg.server.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("withdrawn_at", fpmreg.server.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("imported_from", sa.String(length=512), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
            name=op.f("fk_advisories_created_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["package_id"],
            ["packages.id"],
            name=op.f("fk_advisories_package_id_packages"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_advisories")),
        sa.UniqueConstraint("osv_id", name=op.f("uq_advisories_osv_id")),
    )
    with op.batch_alter_table("advisories", schema=None) as batch_op:
        batch_op.create_index(
            "ix_advisories_draft_modified", ["draft", "modified_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_advisories_modified_at"), ["modified_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_advisories_package"), ["package"], unique=False)
        batch_op.create_index(batch_op.f("ix_advisories_package_id"), ["package_id"], unique=False)

    op.create_table(
        "advisory_packages",
        sa.Column("advisory_id", sa.Integer(), nullable=False),
        sa.Column("ecosystem", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.ForeignKeyConstraint(
            ["advisory_id"],
            ["advisories.id"],
            name=op.f("fk_advisory_packages_advisory_id_advisories"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "advisory_id", "ecosystem", "name", name=op.f("pk_advisory_packages")
        ),
    )
    with op.batch_alter_table("advisory_packages", schema=None) as batch_op:
        batch_op.create_index("ix_advisory_packages_lookup", ["ecosystem", "name"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("advisory_packages", schema=None) as batch_op:
        batch_op.drop_index("ix_advisory_packages_lookup")

    op.drop_table("advisory_packages")
    with op.batch_alter_table("advisories", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_advisories_package_id"))
        batch_op.drop_index(batch_op.f("ix_advisories_package"))
        batch_op.drop_index(batch_op.f("ix_advisories_modified_at"))
        batch_op.drop_index("ix_advisories_draft_modified")

    op.drop_table("advisories")
