"""liveops: session milestones for statistics and reports, customer history index

Revision ID: 0002_liveops
Revises: 0001
Create Date: 2026-12-04 21:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_liveops"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COLUMNS = (
    ("agent_id", sa.String(length=32)),
    ("offered_ms", sa.BigInteger()),
    ("accepted_ms", sa.BigInteger()),
    ("first_reply_ms", sa.BigInteger()),
    ("reply_wait_ms", sa.BigInteger()),
    ("ended_ms", sa.BigInteger()),
)
_INDEXES = (
    ("ix_sms_sessions_offered", ["offered_ms"]),
    ("ix_sms_sessions_accepted", ["accepted_ms"]),
    ("ix_sms_sessions_first_reply", ["first_reply_ms"]),
    ("ix_sms_sessions_ended", ["ended_ms"]),
    ("ix_sms_sessions_customer", ["customer", "created_ms"]),
)


def upgrade() -> None:
    # plain ADD COLUMN (nullable, no default): no table rebuild on SQLite, no rewrite on PostgreSQL
    for name, type_ in _COLUMNS:
        op.add_column("sms_sessions", sa.Column(name, type_, nullable=True))
    for name, columns in _INDEXES:
        op.create_index(name, "sms_sessions", columns)


def downgrade() -> None:
    for name, _ in reversed(_INDEXES):
        op.drop_index(name, table_name="sms_sessions")
    with op.batch_alter_table("sms_sessions") as batch:
        for name, _ in reversed(_COLUMNS):
            batch.drop_column(name)
