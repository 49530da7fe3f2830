"""SQLite specifics: WAL and a busy timeout so several processes can share one file, write transactions
begun with ``BEGIN IMMEDIATE`` so that two writers never deadlock on a lock upgrade.

``synchronous=NORMAL`` in WAL mode keeps every committed transaction across a ``kill -9`` of the process
(only an operating-system crash or power loss may lose the last transactions).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import create_engine as sa_create_engine
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import QueuePool, StaticPool

__all__ = ["create_engine", "lock_for_events", "normalise_url"]


def normalise_url(url: str) -> str:
    """The standard ``sqlite3`` driver (``sqlite:///FILE``); ``sqlite+aiosqlite://`` is accepted too."""
    for prefix in ("sqlite+aiosqlite://", "sqlite+pysqlite://", "sqlite://"):
        if url.startswith(prefix):
            return "sqlite://" + url[len(prefix) :]
    raise ValueError(f"not a SQLite URL: {url}")


def create_engine(url: str) -> Engine:
    """A sync engine: transactions run whole on worker threads (``store/runners.py``)."""
    url = normalise_url(url)
    args = {"timeout": 30, "check_same_thread": False}
    if url in ("sqlite://", "sqlite:///:memory:"):
        # one in-memory database shared by every thread of this process
        engine = sa_create_engine(url, connect_args=args, poolclass=StaticPool)
    else:
        engine = sa_create_engine(url, connect_args=args, poolclass=QueuePool, pool_size=4, max_overflow=8)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cur = dbapi_connection.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        if conn.get_execution_options().get("smsdesk_write"):
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            conn.exec_driver_sql("BEGIN")

    return engine


def lock_for_events(conn: Connection) -> None:
    """Nothing to do: SQLite already serialises writers, so event ids commit in order."""
