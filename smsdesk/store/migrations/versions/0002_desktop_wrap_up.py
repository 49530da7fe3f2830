"""desktop: wrap-up (after-call work) columns of the agents table

Revision ID: 0002_desktop
Revises: 0001
Create Date: 2026-12-04 21:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_desktop"
down_revision: str | None = "0002_hardening"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("agents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("work_mode", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("wrap_session_id", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("wrap_until_ms", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("agents", schema=None) as batch_op:
        batch_op.drop_column("wrap_until_ms")
        batch_op.drop_column("wrap_session_id")
        batch_op.drop_column("work_mode")
