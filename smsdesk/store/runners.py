"""How a transaction body gets run, per engine.

A body is a sync function whose first argument is a ``Db`` (``store/statements.py``): it runs prebuilt
statements and gets row tuples back. ``run_sa`` runs a body that needs a SQLAlchemy ``Connection`` instead
(migrations, schema, test fixtures: nothing on a hot path).

- PostgreSQL (asyncpg): ``PgRunner`` (``store/pg_runner.py``) runs the body inside a greenlet, each statement
  awaited on an asyncpg connection of its own, the writes of a process committed in groups.
- SQLite (standard ``sqlite3`` driver): ``SqliteRunner`` runs everything on the event loop's thread, on one
  connection of its own (writes ran on a thread of their own until the writer moved to the loop;
  ``store/writer.py`` says why). WRITE bodies go to the writer, which runs the writes of one loop turn in one
  transaction (a savepoint each) and one COMMIT, with any WAL checkpoint it triggers; the writers of other
  processes on the same file take turns on a file lock (``engines/sqlite.py``, ``WriteLock``), with
  ``busy_timeout`` as the fallback for writers that don't take it. READ bodies run at once: a read is one or
  two indexed statements, and in WAL mode a reader never waits for a writer. Transactions are framed here
  (``BEGIN IMMEDIATE`` … ``COMMIT`` for writes, ``BEGIN`` … ``ROLLBACK`` for reads of several statements; a
  one-statement read, ``read_one``, runs in autocommit mode, its own snapshot). Nothing awaits inside a
  transaction, so a read never lands inside a write's, even on an in-memory database (one connection
  shared by all).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from contextlib import nullcontext
from typing import Any, Protocol, TypeVar

from sqlalchemy.engine import Connection, Engine

from smsdesk.store.commit import Claims
from smsdesk.store.engines.sqlite import SqliteDb
from smsdesk.store.engines.sqlite import write_lock as sqlite_write_lock
from smsdesk.store.writer import LoopWriter

__all__ = ["Runner", "SqliteRunner"]

T = TypeVar("T")


class Runner(Protocol):
    @property
    def dialect_name(self) -> str: ...

    async def read(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(db, *args)`` in a read-only transaction."""
        ...

    async def read_one(self, fn: Callable[..., T], *args: Any) -> T:
        """Like ``read`` for a body that runs ONE statement (its own consistent snapshot, no framing needed)."""
        ...

    async def write(self, fn: Callable[..., T], *args: Any, claims: Claims | None = None) -> T:
        """Run ``fn(db, *args)`` in a write transaction; committed when this returns. ``claims``: the checks
        the body makes (a ``Change``'s), which a runner may make for a group of bodies at once."""
        ...

    async def run_sa(self, fn: Callable[[Connection], T]) -> T:
        """Run ``fn(conn)`` with a SQLAlchemy connection in a write transaction."""
        ...

    async def close(self) -> None: ...


class SqliteRunner:
    def __init__(self, engine: Engine, *, group_commit: bool = True, write_lock: bool = True) -> None:
        """``write_lock=False`` leaves out the cross-process write lock (as a writer of an older version)."""
        self.engine = engine
        self._local = threading.local()
        self._held: list[Any] = []  # the pool connections the threads keep
        self._lock = sqlite_write_lock(str(engine.url)) if write_lock else None
        self._writer = LoopWriter(self._db, group_commit=group_commit, lock=self._lock)

    @property
    def dialect_name(self) -> str:
        return self.engine.dialect.name

    def _db(self) -> SqliteDb:
        db: SqliteDb | None = getattr(self._local, "db", None)
        if db is None:
            pooled = self.engine.raw_connection()
            self._held.append(pooled)
            raw: sqlite3.Connection = pooled.driver_connection  # type: ignore[assignment]
            db = self._local.db = SqliteDb(raw, self.engine.dialect)
        return db

    def _read_sync(self, fn: Callable[..., T], args: tuple[Any, ...]) -> T:
        db = self._db()
        raw = db.raw
        raw.execute("BEGIN")
        try:
            return fn(db, *args)
        finally:
            if raw.in_transaction:
                raw.execute("ROLLBACK")

    def _run_sa_sync(self, fn: Callable[[Connection], T]) -> T:
        with self._lock or nullcontext(), self.engine.connect() as conn:
            conn = conn.execution_options(smsdesk_write=True)
            with conn.begin():
                return fn(conn)

    async def read(self, fn: Callable[..., T], *args: Any) -> T:
        return self._read_sync(fn, args)  # on the event loop's own connection: see the module docstring

    async def read_one(self, fn: Callable[..., T], *args: Any) -> T:
        return fn(self._db(), *args)  # autocommit mode: the statement is its own read transaction

    async def write(self, fn: Callable[..., T], *args: Any, claims: Claims | None = None) -> T:
        return await self._writer.write(fn, args)  # type: ignore[no-any-return]

    async def run_sa(self, fn: Callable[[Connection], T]) -> T:
        return await self._writer.call(self._run_sa_sync, fn)  # type: ignore[no-any-return]

    def _close_sync(self) -> None:
        for pooled in self._held:
            pooled.close()
        self._held.clear()
        self.engine.dispose()
        if self._lock is not None:
            self._lock.close()

    async def close(self) -> None:
        await self._writer.call(self._close_sync)
        await self._writer.stop()
