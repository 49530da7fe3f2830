"""PostgreSQL specifics (asyncpg).

Event ids come from a sequence and are handed out at insert time, so two transactions could commit out of id
order and a reader that has passed id N would miss the slower one. Transactions that write notifications take
one transaction-level advisory lock first, which makes event ids commit in order.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

__all__ = ["create_engine", "lock_for_events", "normalise_url"]

_EVENTS_LOCK = 0x5D5DE5C  # arbitrary constant naming "smsdesk events"


def normalise_url(url: str) -> str:
    for prefix in ("postgresql+asyncpg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    raise ValueError(f"not a PostgreSQL URL: {url}")


def create_engine(url: str) -> AsyncEngine:
    return create_async_engine(normalise_url(url), pool_size=10, max_overflow=20, pool_pre_ping=True)


def lock_for_events(conn: Connection) -> None:
    conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _EVENTS_LOCK})
