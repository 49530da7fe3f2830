"""SQLite specifics: WAL and a busy timeout so several processes can share one file, write transactions
begun with ``BEGIN IMMEDIATE`` so that two writers never deadlock on a lock upgrade.

``synchronous=NORMAL`` in WAL mode keeps every committed transaction across a ``kill -9`` of the process
(only an operating-system crash or power loss may lose the last transactions).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import create_engine as sa_create_engine
from sqlalchemy import event
from sqlalchemy.engine import Connection, Dialect, Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.pool import QueuePool, StaticPool

from smsdesk.store.statements import Db, Query, load_json

__all__ = ["SqliteDb", "create_engine", "is_memory", "lock_for_events", "normalise_url"]


def normalise_url(url: str) -> str:
    """The standard ``sqlite3`` driver (``sqlite:///FILE``); ``sqlite+aiosqlite://`` is accepted too."""
    for prefix in ("sqlite+aiosqlite://", "sqlite+pysqlite://", "sqlite://"):
        if url.startswith(prefix):
            return "sqlite://" + url[len(prefix) :]
    raise ValueError(f"not a SQLite URL: {url}")


def create_engine(url: str) -> Engine:
    """A sync engine: transactions run whole on worker threads (``store/runners.py``)."""
    url = normalise_url(url)
    args = {"timeout": 30, "check_same_thread": False, "cached_statements": 512}
    if is_memory(url):
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


def is_memory(url: str) -> bool:
    return normalise_url(url) in ("sqlite://", "sqlite:///:memory:")


class SqliteDb:
    """A transaction body's statements, straight on the ``sqlite3`` connection (its statement cache included)."""

    __slots__ = ("dialect", "raw")

    def __init__(self, raw: sqlite3.Connection, dialect: Dialect) -> None:
        self.raw = raw
        self.dialect = dialect

    def all(self, q: Query, params: Mapping[str, Any] | None = None) -> list[Any]:
        sql, args = q.bind(self.dialect, params)
        return self.raw.execute(sql, args).fetchall()

    def first(self, q: Query, params: Mapping[str, Any] | None = None) -> Any:
        sql, args = q.bind(self.dialect, params)
        cur = self.raw.execute(sql, args)
        row = cur.fetchone()
        cur.close()  # resets the statement at once: in autocommit mode it would hold its read snapshot
        return row

    def run(self, q: Query, params: Mapping[str, Any] | None = None) -> int:
        sql, args = q.bind(self.dialect, params)
        try:
            return self.raw.execute(sql, args).rowcount
        except sqlite3.IntegrityError as exc:
            raise IntegrityError(sql, args, exc) from exc

    def run_many(self, q: Query, rows: Sequence[Mapping[str, Any]]) -> None:
        bound = [q.bind(self.dialect, r) for r in rows]
        if not bound:
            return
        sql = bound[0][0]
        try:
            self.raw.executemany(sql, [args for _, args in bound])
        except sqlite3.IntegrityError as exc:
            raise IntegrityError(sql, None, exc) from exc

    def load_json(self, value: Any) -> Any:
        return load_json(value)


def lock_for_events(db: Db) -> None:
    """Nothing to do: SQLite already serialises writers, so event ids commit in order."""
