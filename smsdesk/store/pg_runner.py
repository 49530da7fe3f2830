"""Where PostgreSQL transactions run: asyncpg connections of our own, writes committed in groups.

- **Reads** take an idle connection (up to ``read_connections`` at once, ``pg_read_connections``) and run their one statement in
  autocommit mode: one round trip, no ``BEGIN``/``ROLLBACK``, no pre-ping, no greenlet (``read_one``). A body of several statements
  (``read``) gets a ``REPEATABLE READ`` read-only transaction.
- **Writes** go to this process's writer, which has a connection of its own. The writes queued while the
  previous group was in flight are the next group (with ``pg_write_connections`` above its default of 1, when
  many are queued, more writers, each with its connection, run groups beside it: ``BACKLOG_FOR_ANOTHER_WRITER``): ``BEGIN``, every body in order, the rows they
  write without reading back in one statement per kind (``engines/pg_deferred.py``), the events of all of them
  in one statement under the events lock (``engines/postgres.py``), one ``COMMIT``; only then are the callers
  answered: acknowledged means committed (``synchronous_commit`` stays ``on``: docs/deployment.md). When a body
  fails, the group is rolled back, the failing write runs alone and the others again as a group, so a failure
  costs only its own write, as on SQLite (``store/writer.py``), without a ``SAVEPOINT`` round trip per write.
- **Faults**: a refused or lost connection (the server restarting, say) raises ``StoreUnavailable`` (HTTP 503,
  ``statusCode`` 4) to the callers of what it was running, and the connection is dropped; the next request
  connects again. A write whose COMMIT was cut off may or may not have committed: its caller hears 503 and a
  provider retries, which the inbound keys make idempotent (docs/deployment.md, "Infrastructure faults").
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import asyncpg
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.util import await_only, greenlet_spawn

from smsdesk.store.base import ConcurrentUpdate, ReferenceTaken
from smsdesk.store.commit import Claims
from smsdesk.store.engines import pg_deferred
from smsdesk.store.engines.postgres import (
    CONNECTION_ERRORS,
    EventsTicket,
    PostgresDb,
    dsn,
    flush_counters,
    flush_events,
    setup_connection,
    unavailable,
)
from smsdesk.store.statements import Query

__all__ = ["PgRunner"]

log = logging.getLogger(__name__)

T = TypeVar("T")
_Outcome = tuple[bool, Any]  # (ok, result or exception)

CONNECT_TIMEOUT_S = 5.0

# A deadlock or a serialization failure (SQLSTATE class 40) is no body's fault: the transaction runs again,
# up to this many times in all, before its callers hear the error.
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (asyncpg.exceptions.TransactionRollbackError,)
TRANSIENT_TRIES = 3

# The rows a group's claims name, locked in id order (sessions, then users) and read in one round trip: the
# CTEs are evaluated in that order (the UNION ALL reads the first to its end before the second), and each
# locks its rows as its sort hands them over.
_CLAIMS_SQL = (
    "WITH s AS (SELECT id, version FROM sms_sessions WHERE id = ANY($1::varchar[]) ORDER BY id FOR UPDATE),"
    " u AS (SELECT id, reference_id FROM users WHERE id = ANY($2::varchar[]) ORDER BY id FOR UPDATE)"
    " SELECT 0, id, version::bigint FROM s UNION ALL SELECT 1, id, reference_id::bigint FROM u"
)
# The referenceIds the accepted changes of a group take, per user (rows the claims locked already).
_TAKE_SQL = (
    "UPDATE users SET reference_id = users.reference_id + t.n"
    " FROM unnest($1::varchar[], $2::bigint[]) AS t(id, n) WHERE users.id = t.id"
)


@dataclass(slots=True)
class _Job:
    fn: Callable[..., Any]
    args: tuple[Any, ...]
    future: asyncio.Future[Any]
    claims: Claims | None = None


# The writers' connections plan each statement with its values (``plan_cache_mode``): a write group's
# statements over ``unnest`` arrays and its claims (``id = ANY(...)``) kept the generic plan made while the
# tables were small, sequential scans of sms_sessions and session_members that grew with the tables (seen in
# every benchmark on a fresh database: a fifth of PostgreSQL's CPU), until an ANALYZE. A plan costs tens of µs
# per statement; a group runs a few per change.
_WRITER_SETUP = "SET plan_cache_mode = force_custom_plan"


class _Connections:
    """Up to ``size`` asyncpg connections, kept idle between uses, dropped when one fails."""

    def __init__(self, url: str, size: int, setup: str | None = None) -> None:
        self._dsn = dsn(url)
        self._setup = setup
        self._size = size
        self._idle: list[asyncpg.Connection] = []
        self._free = asyncio.Semaphore(size)
        self._all: set[asyncpg.Connection] = set()
        self._loop: asyncio.AbstractEventLoop | None = None

    async def acquire(self) -> asyncpg.Connection:
        loop = asyncio.get_running_loop()
        if loop is not self._loop:  # a connection belongs to the loop that opened it
            for conn in self._all:
                conn.terminate()
            self._all.clear()
            self._idle.clear()
            self._free = asyncio.Semaphore(self._size)
            self._loop = loop
        await self._free.acquire()
        try:
            while self._idle:
                conn = self._idle.pop()
                if not conn.is_closed():
                    return conn
                self._all.discard(conn)
            conn = await asyncpg.connect(self._dsn, timeout=CONNECT_TIMEOUT_S, statement_cache_size=256)
            try:
                await setup_connection(conn)
                if self._setup is not None:
                    await conn.execute(self._setup)
            except BaseException:
                conn.terminate()
                raise
            self._all.add(conn)
            return conn
        except BaseException:
            self._free.release()
            raise

    def release(self, conn: asyncpg.Connection, *, broken: bool = False) -> None:
        if broken or conn.is_closed() or conn.is_in_transaction():
            self._all.discard(conn)
            conn.terminate()
        else:
            self._idle.append(conn)
        self._free.release()

    async def close(self) -> None:
        for conn in list(self._all):
            try:
                await asyncio.wait_for(conn.close(), 2)
            except Exception:
                conn.terminate()
        self._all.clear()
        self._idle.clear()


class PgRunner:
    def __init__(
        self,
        url: str,
        engine: AsyncEngine,
        *,
        read_connections: int = 8,
        write_connections: int = 1,
        max_group: int = 256,
    ) -> None:
        self.engine = engine  # SQLAlchemy's, for ``run_sa`` (migrations, schema, fixtures)
        self._dialect = engine.dialect
        self._reads = _Connections(url, read_connections)
        self._writes = _Connections(url, write_connections, _WRITER_SETUP)
        self._max_writers = write_connections
        self._max_group = max_group
        self._jobs: deque[_Job] = deque()
        self._writers: set[asyncio.Task[None]] = set()
        self._stopped = False

    # Writes queued while every writer has a group in flight before another writer (connection) starts a group
    # beside them: one writer makes the biggest groups (the fewest round trips per write); when each round trip
    # waits (a busy machine, a remote server), groups in parallel keep the throughput.
    BACKLOG_FOR_ANOTHER_WRITER = 8

    @property
    def dialect_name(self) -> str:
        return self._dialect.name

    # ---- reads ----

    async def read_one(self, fn: Callable[..., T], *args: Any) -> T:
        """A body of ONE statement runs twice, without a greenlet: first on a ``_Probe`` that stops it at its
        statement, then, once the rows came back, on a ``_Replay`` that hands them over."""
        probe = _Probe()
        try:
            value = fn(probe, *args)
        except _Wanted:
            pass
        else:
            return value  # the body needed no statement
        assert probe.q is not None
        sql, params = probe.q.bind(self._dialect, probe.params)
        try:
            conn = await self._reads.acquire()
        except CONNECTION_ERRORS as exc:
            raise unavailable(exc) from exc
        broken = False
        try:
            rows = await (conn.fetch(sql, *params) if probe.many else conn.fetchrow(sql, *params))
        except CONNECTION_ERRORS as exc:
            broken = True
            raise unavailable(exc) from exc
        finally:
            self._reads.release(conn, broken=broken)
        return fn(_Replay(probe, rows), *args)

    async def read(self, fn: Callable[..., T], *args: Any) -> T:
        return await self._read(fn, args, framed=True)

    async def _read(self, fn: Callable[..., T], args: tuple[Any, ...], *, framed: bool) -> T:
        try:
            conn = await self._reads.acquire()
        except CONNECTION_ERRORS as exc:
            raise unavailable(exc) from exc
        broken = False
        try:
            db = PostgresDb(conn, self._dialect)
            if not framed:
                return await greenlet_spawn(fn, db, *args)  # type: ignore[no-any-return]
            async with conn.transaction(isolation="repeatable_read", readonly=True):
                return await greenlet_spawn(fn, db, *args)  # type: ignore[no-any-return]
        except CONNECTION_ERRORS as exc:
            broken = True
            raise unavailable(exc) from exc
        finally:
            self._reads.release(conn, broken=broken)

    # ---- writes ----

    async def write(self, fn: Callable[..., T], *args: Any, claims: Claims | None = None) -> T:
        if self._stopped:
            raise RuntimeError("the store is closed")
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._jobs.append(_Job(fn, args, future, claims or None))
        writers = self._writers
        if not writers or (
            len(self._jobs) >= self.BACKLOG_FOR_ANOTHER_WRITER and len(writers) < self._max_writers
        ):
            task = asyncio.get_running_loop().create_task(self._drain(), name="smsdesk-pg-writer")
            writers.add(task)
        return await future

    async def _drain(self) -> None:
        try:
            await self._drain_queue()
        finally:  # leaves the set at once (no await after the queue was found empty): a new write starts a writer
            self._writers.discard(asyncio.current_task())  # type: ignore[arg-type]

    async def _drain_queue(self) -> None:
        jobs = self._jobs
        while jobs:
            group = [jobs.popleft() for _ in range(min(len(jobs), self._max_group))]
            group = [job for job in group if not job.future.done()]  # cancelled while they waited
            if not group:
                continue
            try:
                outcomes = await self._run(group)
            except Exception as exc:  # not expected: the callers hear it, the writer goes on
                log.exception("PostgreSQL writer")
                outcomes = [(False, exc)] * len(group)
            for job, (ok, value) in zip(group, outcomes, strict=True):
                if job.future.done():
                    continue
                if ok:
                    job.future.set_result(value)
                else:
                    job.future.set_exception(value)

    async def _run(self, group: list[_Job]) -> list[_Outcome]:
        try:
            conn = await self._writes.acquire()
        except CONNECTION_ERRORS as exc:
            return [(False, unavailable(exc))] * len(group)
        broken = False
        try:
            db = PostgresDb(conn, self._dialect)
            outcomes: list[_Outcome] = await greenlet_spawn(self._group_sync, db, group)
            return outcomes
        except CONNECTION_ERRORS as exc:
            broken = True
            return [(False, unavailable(exc))] * len(group)
        finally:
            self._writes.release(conn, broken=broken)

    def _group_sync(self, db: PostgresDb, group: list[_Job], tries: int = TRANSIENT_TRIES) -> list[_Outcome]:
        """Inside the greenlet: the group in one transaction.

        First the claims of its changes are checked at once (``_refused_sync``): a change decided on a session
        version or a referenceId that is no longer the store's fails at once, without running its body. When
        a body fails all the same, the transaction is rolled back, that write runs alone (its own outcome) and
        the others run again as a group, and so on: k failing writes cost k + 1 transactions for the rest, not
        one transaction per write. A deadlock or a serialization failure is no body's fault: the group runs
        again as it was.
        """
        if len(group) == 1:
            return [self._alone_sync(db, group[0], tries)]
        outcomes: list[_Outcome | None] = [None] * len(group)
        values: list[tuple[int, Any]] = []
        current = -1  # the body running; -1 outside the bodies
        await_only(db.raw.execute("BEGIN"))
        try:
            for i, refusal in self._refused_sync(db, group):
                outcomes[i] = (False, refusal)
            for i, job in enumerate(group):
                if outcomes[i] is None:
                    current = i
                    values.append((i, job.fn(db, *job.args)))
            current = -1
            ids = self._finish_sync(db)
        except CONNECTION_ERRORS:
            raise
        except TRANSIENT_ERRORS:
            self._rollback_sync(db)
            if tries > 1:
                return self._group_sync(db, group, tries - 1)
            return [self._alone_sync(db, job) for job in group]
        except Exception:
            self._rollback_sync(db)
            if current < 0:  # the deferred rows, the counters, the events or the COMMIT
                return [self._alone_sync(db, job) for job in group]
            rest = self._group_sync(db, group[:current] + group[current + 1 :])
            return [*rest[:current], self._alone_sync(db, group[current]), *rest[current:]]
        for i, value in values:
            outcomes[i] = (True, _with_event_id(value, ids))
        return outcomes  # type: ignore[return-value]  # every one set

    @staticmethod
    def _refused_sync(db: PostgresDb, group: list[_Job]) -> list[tuple[int, Exception]]:
        """Lock the rows the group's claims name (sessions, then users, each in id order: every writer takes
        them in the same order, so two groups never deadlock on them) and read their versions and referenceIds
        in one statement; the jobs whose claims do not hold, with the error their body would raise.

        The jobs are checked in the group's order, each one's claims applied before the next is checked (two
        changes of one session in one group: the second was decided on the first's version, or fails).
        """
        claimed = [job.claims for job in group if job.claims is not None]
        if not claimed:
            return []
        session_ids = sorted(
            {sid for c in claimed for sid, expected, _ in c.sessions if expected is not None}
        )
        user_ids = sorted({uid for c in claimed for uid, _ in c.references})
        versions: dict[str, int] = {}
        references: dict[str, int] = {}
        if session_ids or user_ids:
            for kind, key, value in await_only(db.raw.fetch(_CLAIMS_SQL, session_ids, user_ids)):
                (versions if kind == 0 else references)[key] = value
        stored = dict(references)
        refused: list[tuple[int, Exception]] = []
        for i, job in enumerate(group):
            claims = job.claims
            if claims is None:
                continue
            refusal = _refusal(claims, versions, references)
            if refusal is not None:
                refused.append((i, refusal))
                continue
            for uid, _ in claims.references:
                if uid in references:
                    references[uid] += 1
            for sid, _, version in claims.sessions:
                versions[sid] = version
        taken = {uid: n - stored[uid] for uid, n in references.items() if n != stored[uid]}
        if taken:  # the accepted bodies' referenceIds, taken here for all (``postgres.take_reference``)
            users = sorted(taken)
            await_only(db.raw.execute(_TAKE_SQL, users, [taken[u] for u in users]))
            db.taken = frozenset(users)
        return refused

    def _alone_sync(self, db: PostgresDb, job: _Job, tries: int = TRANSIENT_TRIES) -> _Outcome:
        for attempt in range(tries):
            await_only(db.raw.execute("BEGIN"))
            try:
                value = job.fn(db, *job.args)
                ids = self._finish_sync(db)
            except CONNECTION_ERRORS:
                raise
            except TRANSIENT_ERRORS as exc:
                self._rollback_sync(db)
                if attempt + 1 >= tries:
                    return (False, exc)
                continue
            except Exception as exc:
                self._rollback_sync(db)
                return (False, exc)
            return (True, _with_event_id(value, ids))
        raise AssertionError("unreachable")

    @staticmethod
    def _finish_sync(db: PostgresDb) -> list[int]:
        """The end of a write transaction: the rows its bodies left for the end, its counters, its events
        (the ids they got), COMMIT."""
        pg_deferred.flush(db)
        flush_counters(db)
        ids = flush_events(db)
        await_only(db.raw.execute("COMMIT"))
        return ids

    @staticmethod
    def _rollback_sync(db: PostgresDb) -> None:
        db.discard()
        if db.raw.is_in_transaction():
            await_only(db.raw.execute("ROLLBACK"))

    # ---- the rest ----

    async def run_sa(self, fn: Callable[[Connection], T]) -> T:
        try:
            async with self.engine.connect() as conn:
                conn = await conn.execution_options(smsdesk_write=True)
                async with conn.begin():
                    return await conn.run_sync(fn)
        except CONNECTION_ERRORS as exc:
            raise unavailable(exc) from exc

    async def close(self) -> None:
        self._stopped = True
        await asyncio.gather(*self._writers, return_exceptions=True)
        await self._reads.close()
        await self._writes.close()
        await self.engine.dispose()


class _Wanted(Exception):
    """Raised by ``_Probe`` at a read body's statement."""


class _Probe:
    """The ``Db`` of a one-statement read body's first run: notes the statement and stops the body there."""

    __slots__ = ("many", "params", "q")

    def __init__(self) -> None:
        self.q: Query | None = None
        self.params: Mapping[str, Any] | None = None
        self.many = False

    def all(self, q: Query, params: Mapping[str, Any] | None = None) -> list[Any]:
        self.q, self.params, self.many = q, params, True
        raise _Wanted

    def first(self, q: Query, params: Mapping[str, Any] | None = None) -> Any:
        self.q, self.params = q, params
        raise _Wanted

    def run(self, q: Query, params: Mapping[str, Any] | None = None) -> int:
        raise TypeError("a read body does not write")

    def run_many(self, q: Query, rows: Sequence[Mapping[str, Any]]) -> None:
        raise TypeError("a read body does not write")

    def load_json(self, value: Any) -> Any:
        return value


class _Replay(_Probe):
    """The ``Db`` of its second run: the rows of the one statement noted, a second statement refused."""

    __slots__ = ("rows",)

    def __init__(self, probe: _Probe, rows: Any) -> None:
        super().__init__()
        self.q, self.params, self.many, self.rows = probe.q, probe.params, probe.many, rows

    def all(self, q: Query, params: Mapping[str, Any] | None = None) -> list[Any]:
        self._check(q, params, True)
        return self.rows  # type: ignore[no-any-return]

    def first(self, q: Query, params: Mapping[str, Any] | None = None) -> Any:
        self._check(q, params, False)
        return self.rows

    def _check(self, q: Query, params: Mapping[str, Any] | None, many: bool) -> None:
        if q is not self.q or params != self.params or many != self.many:
            raise TypeError("read_one: the body ran more than one statement (use read)")
        self.q = None  # one statement only


def _refusal(claims: Claims, versions: dict[str, int], references: dict[str, int]) -> Exception | None:
    """The error the body of ``claims`` would raise at its checks (``store/commit.py``), or None."""
    for uid, expected in claims.references:  # ``take_reference`` (a user not found: the body says so)
        stored = references.get(uid)
        if stored is not None and stored + 1 != expected:
            return ReferenceTaken(uid, stored + 1)
    for sid, expected_version, _ in claims.sessions:  # ``write_session``
        if expected_version is not None and versions.get(sid) != expected_version:
            return ConcurrentUpdate(f"session {sid} changed since version {expected_version}")
    return None


def _with_event_id(value: Any, ids: list[int]) -> Any:
    """A body's result, its ``EventsTicket`` (if it returned one) replaced by the id of its last event."""
    if isinstance(value, EventsTicket):
        return ids[value.end - 1]
    return value
