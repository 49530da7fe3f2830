"""Apply the Alembic migrations in ``migrations/`` to a store's database (on start and by `smsdesk migrate`).

Two nodes starting at once do not race: on SQLite the migration runs in a ``BEGIN IMMEDIATE`` transaction,
on PostgreSQL under an advisory lock.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import text
from sqlalchemy.engine import Connection

from smsdesk.store.sql import SqlStore

__all__ = ["alembic_config", "migrate"]

_MIGRATIONS = Path(__file__).parent / "migrations"
_MIGRATION_LOCK = 0x5D5DE5D


def alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(_MIGRATIONS))
    return cfg


def _upgrade(conn: Connection) -> None:
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _MIGRATION_LOCK})
    cfg = alembic_config()
    cfg.attributes["connection"] = conn
    command.upgrade(cfg, "head")


async def migrate(store: SqlStore) -> None:
    await store.run_write(_upgrade)
