"""users: email_address (the User resource's emailAddress) and reference_id (the last referenceId)

Revision ID: 0002_conformance
Revises: 0001
Create Date: 2026-12-04 21:20:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_conformance"
down_revision: str | None = "0002_desktop"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("email_address", sa.String(length=256), nullable=False, server_default=""))
        batch.add_column(sa.Column("reference_id", sa.BigInteger(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("reference_id")
        batch.drop_column("email_address")
