"""cluster: CometD clients shared by the nodes, the outbox read by recipient (the simulator's handsets)

Revision ID: 0002_cluster
Revises: 0001
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_cluster"
down_revision: str | None = "0002_routing"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_outbox_to", "outbox", ["to_number", "id"], unique=False)
    op.create_table(
        "cometd_clients",
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("resume_key", sa.String(length=64), nullable=False),
        sa.Column("ack", sa.Boolean(), nullable=False),
        sa.Column("subscriptions", sa.JSON(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("floor", sa.BigInteger(), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.Column("seen_ms", sa.BigInteger(), nullable=False),
        sa.Column("gone", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("client_id"),
    )
    op.create_index("ix_cometd_clients_resume", "cometd_clients", ["user_id", "resume_key"], unique=False)
    op.create_index("ix_cometd_clients_seen", "cometd_clients", ["seen_ms"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_cometd_clients_seen", table_name="cometd_clients")
    op.drop_index("ix_cometd_clients_resume", table_name="cometd_clients")
    op.drop_table("cometd_clients")
    op.drop_index("ix_outbox_to", table_name="outbox")
