"""routing: presence (which serving process last saw a notification client of which user) and the agents'
skills (docs/routing.md)

Revision ID: 0002_routing
Revises: 0001
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_routing"
down_revision: str | None = "0002_conformance"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "presence",
        sa.Column("node_id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("last_seen_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("node_id", "user_id"),
    )
    op.create_index("ix_presence_user", "presence", ["user_id"], unique=False)
    op.create_table(
        "user_skills",
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("user_id", "name"),
    )


def downgrade() -> None:
    op.drop_table("user_skills")
    op.drop_index("ix_presence_user", table_name="presence")
    op.drop_table("presence")
