"""failed logins, per user name and per client address (docs/security.md)

Revision ID: 0002_hardening
Revises: 0001
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_hardening"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "login_failures",
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("window_start_ms", sa.BigInteger(), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_index("ix_login_failures_window", "login_failures", ["window_start_ms"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_login_failures_window", table_name="login_failures")
    op.drop_table("login_failures")
