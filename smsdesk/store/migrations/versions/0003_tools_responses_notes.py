"""tools: standard responses and contact notes (docs/api.md, "Agent tools")

Revision ID: 0003_tools
Revises: 0002_cluster
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_tools"
down_revision: str | None = "0002_liveops"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "standard_responses",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("category", sa.String(length=100), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("updated_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "contact_notes",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("customer_number", sa.String(length=32), nullable=False),
        sa.Column("author_id", sa.String(length=32), nullable=False),
        sa.Column("author_name", sa.String(length=200), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_contact_notes_number", "contact_notes", ["customer_number", "created_ms"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_contact_notes_number", table_name="contact_notes")
    op.drop_table("contact_notes")
    op.drop_table("standard_responses")
