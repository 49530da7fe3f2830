"""SQLite specifics: WAL and a busy timeout so several processes can share one file, write transactions
begun with ``BEGIN IMMEDIATE`` so that two writers never deadlock on a lock upgrade.

``synchronous=NORMAL`` in WAL mode keeps every committed transaction across a ``kill -9`` of the process
(only an operating-system crash or power loss may lose the last transactions).

``WriteLock``: the writers of several processes on one file queue on an ``flock`` of ``<file>-writelock``
around each write transaction, rather than in SQLite's busy handler, which polls in sleeps of 1, 2, 5, 10,
15, 20, 25 … ms and so wakes a waiting writer late. The busy timeout stays the fallback for writers that do
not take the lock (other tools, older versions).
"""

from __future__ import annotations

import logging
import os
import sqlite3
from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Any

from sqlalchemy import create_engine as sa_create_engine
from sqlalchemy import event
from sqlalchemy.engine import Connection, Dialect, Engine, make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.pool import QueuePool, StaticPool

from smsdesk.store.statements import Query, load_json

try:
    import fcntl
except ImportError:  # Windows: no flock; writers wait in SQLite's busy handler
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "SqliteDb",
    "WriteLock",
    "create_engine",
    "is_memory",
    "normalise_url",
    "write_lock",
]

log = logging.getLogger(__name__)

_UNOPENED = -1  # WriteLock._fd before the first acquire
_OFF = -2  # the lock file could not be opened or locked


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
        # the writer's savepoints (store/writer.py) journal the pages they change: in memory, not in a
        # temporary file written page by page once past 64 KiB (docs/performance-history.md, "Seventh round")
        cur.execute("PRAGMA temp_store=MEMORY")
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


class WriteLock:
    """An exclusive ``flock`` on the file ``path``, taken around every write transaction of one writer.

    A blocked ``acquire`` sleeps in the kernel (without the GIL) and returns as soon as the holder releases:
    no polling. The lock belongs to this object's open file, so two objects on one path exclude each other
    even within one process, and the kernel drops it if the holding process dies. The file is created 0600
    and left in place, like SQLite's ``-wal`` and ``-shm`` files (removing a lock file others may hold
    would let two writers lock two different files). If the file cannot be opened or locked, the lock turns
    itself off with a warning: it only saves waiting, SQLite's own locking keeps the writes correct.
    Not thread-safe: one writer (on its event loop) uses it.
    """

    __slots__ = ("_fd", "path")

    def __init__(self, path: str) -> None:
        self.path = path
        self._fd = _UNOPENED

    def acquire(self) -> None:
        fd = self._fd
        if fd < 0:
            fd = self._open() if fd == _UNOPENED else fd
            if fd < 0:  # off
                return
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
        except OSError as exc:
            self._turn_off(exc)

    def try_acquire(self) -> bool:
        """Take the lock if it is free now; ``False`` when another holds it (``True`` when the lock is off)."""
        fd = self._fd
        if fd < 0:
            fd = self._open() if fd == _UNOPENED else fd
            if fd < 0:  # off
                return True
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        except OSError as exc:
            self._turn_off(exc)
        return True

    def release(self) -> None:
        if self._fd >= 0:
            fcntl.flock(self._fd, fcntl.LOCK_UN)

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)  # releases the lock too, were it still held
        self._fd = _UNOPENED

    def _open(self) -> int:
        try:
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        except OSError as exc:
            self._turn_off(exc)
        return self._fd

    def _turn_off(self, exc: OSError) -> None:
        log.warning(
            "write lock %s off (%s): writers of other processes wait in SQLite's busy handler", self.path, exc
        )
        if self._fd >= 0:
            os.close(self._fd)
        self._fd = _OFF

    def __enter__(self) -> WriteLock:
        self.acquire()
        return self

    def __exit__(
        self, _type: type[BaseException] | None, _exc: BaseException | None, _tb: TracebackType | None
    ) -> None:
        self.release()


def write_lock(url: str) -> WriteLock | None:
    """The write lock of the database file at ``url``: ``None`` for an in-memory database, a URI filename
    (``?uri=true``) or where there is no ``flock``."""
    if fcntl is None or is_memory(url):
        return None
    parsed = make_url(normalise_url(url))
    if not parsed.database or parsed.query.get("uri"):
        return None
    return WriteLock(parsed.database + "-writelock")


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
        if not rows:
            return
        sql, args = q.bind_many(self.dialect, rows)
        try:
            self.raw.executemany(sql, args)
        except sqlite3.IntegrityError as exc:
            raise IntegrityError(sql, None, exc) from exc

    def load_json(self, value: Any) -> Any:
        return load_json(value)
