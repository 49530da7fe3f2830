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
down_revision: str | None = "0002_cluster"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COLUMNS = (
    ("agent_id", sa.String(length=32)),
    ("offered_ms", sa.BigInteger()),
    ("accepted_ms", sa.BigInteger()),
    ("first_reply_ms", sa.BigInteger()),
    ("reply_wait_ms", sa.BigInteger()),
    ("ended_ms", sa.BigInteger()),
    ("parties", sa.Text()),
)
_INDEXES = (
    ("ix_sms_sessions_ended", ["ended_ms"]),
    ("ix_sms_sessions_customer", ["customer", "created_ms"]),
    ("ix_sms_sessions_agent", ["agent_id", "created_ms"]),
)

# Full-text search over the conversation with the customer: the texts of visibility All (what the customer
# sent or received), lower-cased words, no stemming, on both engines (docs/operations.md).
_QUEUE_COUNTS = ("offered", "accepted", "accepted_in_sl", "completed", "abandoned", "replies")
_QUEUE_SUMS = ("wait_ms", "handle_ms", "reply_wait_ms")
_SQLITE_TEXT = (
    "CASE WHEN json_extract({row}.data, '$.type') = 'Text'"
    " AND json_extract({row}.data, '$.visibility') = 'All'"
    " THEN json_extract({row}.data, '$.text') END"
)
_SQLITE_FTS = [
    # external content: the words only; the text stays in ``messages`` (read through this view)
    "CREATE VIEW messages_text AS SELECT rowid AS id, " + _SQLITE_TEXT.format(row="messages") + " AS text"
    " FROM messages",
    "CREATE VIRTUAL TABLE messages_fts USING fts5(text, content='messages_text', content_rowid='id')",
    # New messages are indexed in batches by the indexer (store/history.py, ``index_messages``), off the
    # write path: ``upto`` is the last rowid of messages indexed. Deleting or changing a message the index
    # holds takes its words out (a receipt rewrites a message with the same text: nothing to do then).
    "CREATE TABLE messages_fts_upto (id INTEGER PRIMARY KEY CHECK (id = 1), upto INTEGER NOT NULL)",
    "INSERT INTO messages_fts_upto (id, upto) VALUES (1, 0)",
    "CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages WHEN "
    + _SQLITE_TEXT.format(row="old")
    + " IS NOT NULL AND old.rowid <= (SELECT upto FROM messages_fts_upto)"
    " BEGIN INSERT INTO messages_fts(messages_fts, rowid, text) VALUES ('delete', old.rowid, "
    + _SQLITE_TEXT.format(row="old")
    + "); END",
    "CREATE TRIGGER messages_fts_update AFTER UPDATE OF data ON messages WHEN "
    + _SQLITE_TEXT.format(row="old")
    + " IS NOT "
    + _SQLITE_TEXT.format(row="new")
    + " AND old.rowid <= (SELECT upto FROM messages_fts_upto)"
    " BEGIN INSERT INTO messages_fts(messages_fts, rowid, text) SELECT 'delete', old.rowid, "
    + _SQLITE_TEXT.format(row="old")
    + " WHERE "
    + _SQLITE_TEXT.format(row="old")
    + " IS NOT NULL;"
    " INSERT INTO messages_fts(rowid, text) SELECT new.rowid, "
    + _SQLITE_TEXT.format(row="new")
    + " WHERE "
    + _SQLITE_TEXT.format(row="new")
    + " IS NOT NULL; END",
]
_PG_FTS = [
    "ALTER TABLE messages ADD COLUMN tsv tsvector GENERATED ALWAYS AS (to_tsvector('simple'::regconfig,"
    " CASE WHEN data->>'type' = 'Text' AND data->>'visibility' = 'All' THEN coalesce(data->>'text', '')"
    " ELSE '' END)) STORED",
    "CREATE INDEX ix_messages_tsv ON messages USING gin (tsv)",
]


def upgrade() -> None:
    # plain ADD COLUMN (nullable, no default): no table rebuild on SQLite, no rewrite on PostgreSQL
    for name, type_ in _COLUMNS:
        op.add_column("sms_sessions", sa.Column(name, type_, nullable=True))
    for name, columns in _INDEXES:
        op.create_index(name, "sms_sessions", columns)
    op.create_table(
        "stat_queue_minutes",
        sa.Column("minute_ms", sa.BigInteger(), nullable=False),
        sa.Column("queue", sa.String(length=128), nullable=False),
        *(sa.Column(n, sa.Integer(), nullable=False) for n in _QUEUE_COUNTS),
        *(sa.Column(n, sa.BigInteger(), nullable=False) for n in _QUEUE_SUMS),
        sa.PrimaryKeyConstraint("minute_ms", "queue"),
    )
    op.create_table(
        "stat_agent_quarters",
        sa.Column("quarter_ms", sa.BigInteger(), nullable=False),
        sa.Column("agent_id", sa.String(length=32), nullable=False),
        sa.Column("handled", sa.Integer(), nullable=False),
        sa.Column("handle_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("quarter_ms", "agent_id"),
    )
    dialect = op.get_bind().dialect.name
    for statement in _SQLITE_FTS if dialect == "sqlite" else _PG_FTS if dialect == "postgresql" else []:
        op.execute(statement)


def downgrade() -> None:
    op.drop_table("stat_agent_quarters")
    op.drop_table("stat_queue_minutes")
    if op.get_bind().dialect.name == "sqlite":
        for name in ("messages_fts_update", "messages_fts_delete"):
            op.execute(f"DROP TRIGGER {name}")
        op.execute("DROP TABLE messages_fts_upto")
        op.execute("DROP TABLE messages_fts")
        op.execute("DROP VIEW messages_text")
    elif op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX ix_messages_tsv")
        op.execute("ALTER TABLE messages DROP COLUMN tsv")
    for name, _ in reversed(_INDEXES):
        op.drop_index(name, table_name="sms_sessions")
    with op.batch_alter_table("sms_sessions") as batch:
        for name, _ in reversed(_COLUMNS):
            batch.drop_column(name)
