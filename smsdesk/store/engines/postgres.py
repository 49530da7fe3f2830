"""PostgreSQL specifics: asyncpg straight, statements of sync transaction bodies awaited through a greenlet.

A transaction body is a sync function (``store/statements.py``); on PostgreSQL it runs inside
``greenlet_spawn`` and each statement is ``await_only(connection.fetch(...))`` on a raw asyncpg connection:
one round trip, asyncpg's prepared-statement cache, no SQLAlchemy pool, cursor or adapter objects in between
(they were most of the store's CPU on this engine, docs/performance.md "PostgreSQL at single-node speed").

Event ids come from a sequence and are handed out at insert time, so two transactions could commit out of id
order and a reader that has passed id N would miss the slower one. A transaction that writes notifications
takes one transaction-level advisory lock before its event rows and holds it to its COMMIT, which makes event
ids become visible in id order. The rows wait to the end of the transaction (``add_events``): a group of writes
(``store/pg_runner.py``) takes the lock and inserts all its events in one statement, then commits: the lock is
held for two round trips (that statement, COMMIT) whatever the group's size. The statistics' counters of a
group are added up and upserted once, just before the events, in key order (``add_counters``,
``store/counters.py``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any

import asyncpg
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.util import await_only

from smsdesk.domain.errors import StoreUnavailable
from smsdesk.store import commit
from smsdesk.store.counters import Counts, merge_counts, write_counters
from smsdesk.store.statements import Db, Query, load_json

__all__ = [
    "CONNECTION_ERRORS",
    "EventsTicket",
    "PostgresDb",
    "add_counters",
    "add_events",
    "create_engine",
    "dsn",
    "flush_counters",
    "flush_events",
    "normalise_url",
    "take_reference",
    "unavailable",
]

EVENTS_LOCK = 0x5D5DE5C  # arbitrary constant naming "smsdesk events"

# What a lost or refused connection raises (the server restarting, shutting down, unreachable).
CONNECTION_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    asyncio.TimeoutError,
    asyncpg.PostgresConnectionError,  # class 08
    asyncpg.CannotConnectNowError,  # 57P03: starting up / shutting down
    asyncpg.exceptions.OperatorInterventionError,  # 57P01 admin shutdown, 57P02 crash shutdown
    asyncpg.InterfaceError,  # the connection is closed
)


def unavailable(exc: BaseException) -> StoreUnavailable:
    return StoreUnavailable(
        "The database is unavailable; the request did not change anything, try again shortly"
        f" ({type(exc).__name__})"
    )


def normalise_url(url: str) -> str:
    for prefix in ("postgresql+asyncpg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    raise ValueError(f"not a PostgreSQL URL: {url}")


def dsn(url: str) -> str:
    """The libpq-style URL asyncpg takes."""
    return "postgresql://" + normalise_url(url)[len("postgresql+asyncpg://") :]


def create_engine(url: str) -> AsyncEngine:
    """SQLAlchemy's engine: migrations, schema and test fixtures only (``SqlStore.run_write``)."""
    return create_async_engine(
        normalise_url(url),
        pool_size=2,
        max_overflow=4,
        pool_pre_ping=True,
        json_deserializer=load_json,
    )


async def setup_connection(conn: asyncpg.Connection) -> None:
    """JSON columns: written as the text ``dump_json`` made, read back decoded with ``load_json``."""
    for name in ("json", "jsonb"):
        await conn.set_type_codec(name, encoder=_identity, decoder=load_json, schema="pg_catalog")


def _identity(value: Any) -> Any:
    return value


class PostgresDb:
    """A transaction body's statements on one asyncpg connection, awaited from inside ``greenlet_spawn``.

    ``events`` holds the event rows of the transaction's bodies until its end (``add_events``), ``counts`` the
    statistics' increments (``add_counters``).
    """

    __slots__ = (
        "counts",
        "dialect",
        "events",
        "idle",
        "inserts",
        "members",
        "message_updates",
        "messages",
        "raw",
        "sessions",
        "taken",
    )

    def __init__(self, raw: asyncpg.Connection, dialect: Dialect) -> None:
        self.raw = raw
        self.dialect = dialect
        self.events: list[Mapping[str, Any]] = []
        # rows written at the end of the transaction (engines/pg_deferred.py)
        self.messages: list[tuple[str, int, str]] = []
        self.sessions: dict[str, tuple[Mapping[str, Any], int]] = {}
        self.members: dict[str, tuple[Sequence[str], frozenset[str]]] = {}
        self.idle: dict[str, int] = {}
        self.message_updates: dict[tuple[str, int], str] = {}
        self.inserts: list[tuple[Any, Mapping[str, Any]]] = []
        self.counts = Counts()
        # users whose referenceIds the writer checked and took for the transaction's bodies at its start
        # (``store/pg_runner.py``, claims): their bodies' ``take_reference`` has nothing left to do
        self.taken: frozenset[str] = frozenset()

    def discard(self) -> None:
        """Forget what waits for the end of a transaction that was rolled back."""
        self.events = []
        self.messages = []
        self.sessions = {}
        self.members = {}
        self.idle = {}
        self.message_updates = {}
        self.inserts = []
        self.counts = Counts()
        self.taken = frozenset()

    def all(self, q: Query, params: Mapping[str, Any] | None = None) -> list[Any]:
        sql, args = q.bind(self.dialect, params)
        return await_only(self.raw.fetch(sql, *args))  # type: ignore[no-any-return]

    def first(self, q: Query, params: Mapping[str, Any] | None = None) -> Any:
        sql, args = q.bind(self.dialect, params)
        return await_only(self.raw.fetchrow(sql, *args))

    def run(self, q: Query, params: Mapping[str, Any] | None = None) -> int:
        sql, args = q.bind(self.dialect, params)
        try:
            status: str = await_only(self.raw.execute(sql, *args))
        except asyncpg.IntegrityConstraintViolationError as exc:
            raise IntegrityError(sql, args, exc) from exc
        return _rowcount(status)

    def run_many(self, q: Query, rows: Sequence[Mapping[str, Any]]) -> None:
        if not rows:
            return
        sql, args = q.bind_many(self.dialect, rows)
        try:
            await_only(self.raw.executemany(sql, args))
        except asyncpg.IntegrityConstraintViolationError as exc:
            raise IntegrityError(sql, None, exc) from exc

    def fetch_sql(self, sql: str, *args: Any) -> list[Any]:
        """A statement written for PostgreSQL alone (``engines/pg_deferred.py``): its rows."""
        try:
            return await_only(self.raw.fetch(sql, *args))  # type: ignore[no-any-return]
        except asyncpg.IntegrityConstraintViolationError as exc:
            raise IntegrityError(sql, None, exc) from exc

    def load_json(self, value: Any) -> Any:
        return value  # the codec already decoded it (setup_connection)


def _rowcount(status: str) -> int:
    """Rows matched, from a command tag such as ``UPDATE 1`` or ``INSERT 0 3``."""
    tail = status.rpartition(" ")[2]
    return int(tail) if tail.isdigit() else 0


# The lock and the rows in one statement (one round trip): the CTE calling the lock function is volatile, so
# it is not inlined and runs once; no row reaches the INSERT (whose projection draws the ids from the
# sequence) before the join has read the CTE's one row, that is before the lock is held. ``unnest`` keeps
# the order of its arrays, so ids follow the rows' order.
_EVENTS_SQL = (
    "WITH l AS (SELECT pg_advisory_xact_lock($5)) "
    "INSERT INTO events (user_id, channel, data, created_ms)"
    " SELECT u.user_id, u.channel, u.data::json, u.created_ms"
    " FROM l, unnest($1::varchar[], $2::varchar[], $3::text[], $4::bigint[]) AS u(user_id, channel, data, created_ms)"
    " RETURNING id"
)


class EventsTicket(int):
    """What ``add_events`` returns until the transaction's events are written: 0 as an int, and the index one
    past the body's last event row among the transaction's (``PostgresDb.flush_events`` gives the id)."""

    end: int


def add_events(db: Db, rows: Sequence[Mapping[str, Any]]) -> int:
    """Queue event rows (user_id, channel, data, created_ms) for the end of the transaction (``flush_events``).

    The runner replaces the ``EventsTicket`` a body returns by the id of its last event row.
    """
    assert isinstance(db, PostgresDb)
    db.events.extend(rows)
    ticket = EventsTicket(0)
    ticket.end = len(db.events)
    return ticket


def take_reference(db: Db, user_id: str, expected: int) -> None:
    """``commit.take_reference``, unless the writer took the user's referenceIds for the whole group."""
    assert isinstance(db, PostgresDb)
    if user_id not in db.taken:
        commit.take_reference(db, user_id, expected)


def add_counters(db: Db, counts: Counts) -> None:
    """Add a body's statistics increments to the transaction's, upserted at its end (``flush_counters``)."""
    assert isinstance(db, PostgresDb)
    merge_counts(db.counts, counts)


# A group's agent counters (one row per agent who ended a session) in one statement, in key order.
_AGENT_COUNTERS_SQL = (
    "INSERT INTO stat_agent_quarters (quarter_ms, agent_id, handled, handle_ms)"
    " SELECT * FROM unnest($1::bigint[], $2::varchar[], $3::integer[], $4::bigint[])"
    " ON CONFLICT (quarter_ms, agent_id) DO UPDATE SET"
    " handled = stat_agent_quarters.handled + excluded.handled,"
    " handle_ms = stat_agent_quarters.handle_ms + excluded.handle_ms"
)


def flush_counters(db: PostgresDb) -> None:
    """Before the events: the transaction's counter rows, one upsert per table, in key order (the agents'
    rows, one per agent of the group, in one statement)."""
    if db.counts:
        counts, db.counts = db.counts, Counts()
        agents, counts.agents = sorted(counts.agents.items()), {}
        write_counters(db, counts)
        if agents:
            arrays = ([k[0] for k, _ in agents], [k[1] for k, _ in agents], [v[0] for _, v in agents])
            await_only(db.raw.execute(_AGENT_COUNTERS_SQL, *arrays, [v[1] for _, v in agents]))


def flush_events(db: PostgresDb) -> list[int]:
    """Just before COMMIT: take the events lock and insert the queued rows in one statement; their ids."""
    rows = db.events
    if not rows:
        return []
    found = await_only(
        db.raw.fetch(
            _EVENTS_SQL,
            [r["user_id"] for r in rows],
            [r["channel"] for r in rows],
            [r["data"] for r in rows],
            [r["created_ms"] for r in rows],
            EVENTS_LOCK,
        )
    )
    db.events = []
    return [r[0] for r in found]
