"""policy credentials: a credential may attest that a release passes a community's
policy, named by `community` and `policy` (docs/credentials.md, "Policy credentials").

Revision ID: 0024_policy_credentials
Revises: 0023_imported_evidence
Create Date: 2026-12-04 19:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0024_policy_credentials"
down_revision = "0023_imported_evidence"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("credentials") as batch:
        batch.add_column(
            sa.Column("community", sa.String(length=63), nullable=False, server_default="")
        )
        batch.add_column(
            sa.Column("policy", sa.String(length=63), nullable=False, server_default="")
        )


def downgrade() -> None:
    with op.batch_alter_table("credentials") as batch:
        batch.drop_column("policy")
        batch.drop_column("community")
