"""activitypub: followers of the registry's actors, fetched remote keys, and the
signatures already accepted (replays are refused) (docs/activitypub.md).

Revision ID: 0013_activitypub
Revises: 0012_federation
Create Date: 2026-12-03 09:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import fpmreg.server.db

revision = "0013_activitypub"
down_revision = "0012_federation"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ap_followers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("actor_path", sa.String(length=256), nullable=False),
        sa.Column("remote_actor", sa.String(length=512), nullable=False),
        sa.Column("inbox", sa.String(length=512), nullable=False),
        sa.Column("follow_id", sa.String(length=512), nullable=False),
        sa.Column("created_at", fpmreg.server.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ap_followers")),
        sa.UniqueConstraint(
            "actor_path", "remote_actor", name=op.f("uq_ap_followers_actor_path_remote_actor")
        ),
    )
    op.create_index(op.f("ix_ap_followers_actor_path"), "ap_followers", ["actor_path"])
    op.create_table(
        "ap_remote_keys",
        sa.Column("key_id", sa.String(length=512), nullable=False),
        sa.Column("owner", sa.String(length=512), nullable=False),
        sa.Column("pem", sa.Text(), nullable=False),
        sa.Column("fetched_at", fpmreg.server.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key_id", name=op.f("pk_ap_remote_keys")),
    )
    op.create_table(
        "ap_seen_signatures",
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("seen_at", fpmreg.server.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("digest", name=op.f("pk_ap_seen_signatures")),
    )
    op.create_index(op.f("ix_ap_seen_signatures_seen_at"), "ap_seen_signatures", ["seen_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_ap_seen_signatures_seen_at"), table_name="ap_seen_signatures")
    op.drop_table("ap_seen_signatures")
    op.drop_table("ap_remote_keys")
    op.drop_index(op.f("ix_ap_followers_actor_path"), table_name="ap_followers")
    op.drop_table("ap_followers")
