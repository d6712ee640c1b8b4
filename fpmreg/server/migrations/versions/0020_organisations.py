"""organisations: organisations and their members, their endorsements of communities,
auditors and policies, and the trust statements of community members
(docs/organisations.md).

Revision ID: 0020_organisations
Revises: 0019_verdicts
Create Date: 2026-12-04 19:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import fpmreg.server.db

revision = "0020_organisations"
down_revision = "0019_verdicts"
branch_labels = None
depends_on = None

_TIME = fpmreg.server.db.UTCDateTime(timezone=True)


def _fk(table: str, column: str, target: str, ondelete: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}"), ondelete=ondelete
    )


def upgrade() -> None:
    op.create_table(
        "organisations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=63), nullable=False),
        sa.Column("title", sa.String(length=100), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organisations")),
        sa.UniqueConstraint("name", name=op.f("uq_organisations_name")),
    )
    op.create_table(
        "organisation_members",
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("since", _TIME, nullable=False),
        _fk("organisation_members", "organisation_id", "organisations", "CASCADE"),
        _fk("organisation_members", "user_id", "users", "CASCADE"),
        sa.PrimaryKeyConstraint("organisation_id", "user_id", name=op.f("pk_organisation_members")),
    )
    with op.batch_alter_table("organisation_members") as batch:
        batch.create_index(batch.f("ix_organisation_members_user_id"), ["user_id"])
    op.create_table(
        "organisation_endorsements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("subject", sa.String(length=512), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("revoked_at", _TIME, nullable=True),
        sa.Column("revoke_reason", sa.Text(), nullable=False),
        _fk("organisation_endorsements", "organisation_id", "organisations", "CASCADE"),
        _fk("organisation_endorsements", "created_by", "users", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organisation_endorsements")),
    )
    with op.batch_alter_table("organisation_endorsements") as batch:
        batch.create_index(
            batch.f("ix_organisation_endorsements_organisation_id"), ["organisation_id"]
        )
        batch.create_index(batch.f("ix_organisation_endorsements_subject"), ["subject"])
    op.create_table(
        "community_trust",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("truster_id", sa.Integer(), nullable=True),
        sa.Column("truster", sa.String(length=512), nullable=False),
        sa.Column("trustee", sa.String(length=512), nullable=False),
        sa.Column("level", sa.String(length=16), nullable=False),
        sa.Column("scope", sa.String(length=512), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("stated_at", _TIME, nullable=False),
        _fk("community_trust", "community_id", "communities", "CASCADE"),
        _fk("community_trust", "truster_id", "users", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_community_trust")),
    )
    with op.batch_alter_table("community_trust") as batch:
        batch.create_index(batch.f("ix_community_trust_community_id"), ["community_id"])
        batch.create_index(batch.f("ix_community_trust_trustee"), ["trustee"])


def downgrade() -> None:
    op.drop_table("community_trust")
    op.drop_table("organisation_endorsements")
    op.drop_table("organisation_members")
    op.drop_table("organisations")
