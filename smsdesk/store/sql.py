"""The SQL store (SQLite via the standard sqlite3 driver, PostgreSQL via asyncpg), implementing
``store.base.Store``.

Each public method is async and runs one sync transaction body (``store/runners.py`` decides how). The
statements are in ``store/queries.py`` (built once, compiled once per dialect by ``store/statements.py``); a
body runs them on a ``Db`` and maps the row tuples to records (``store/records.py``). The write path of a
``Change`` is ``store/commit.py``. Dialect differences live in ``engines/``.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from typing import Any, TypeVar

from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from smsdesk.domain.agents import AgentState
from smsdesk.domain.errors import AlreadyExists
from smsdesk.domain.events import StoredEvent
from smsdesk.domain.users import User
from smsdesk.store import queries as sq
from smsdesk.store import records as rec
from smsdesk.store import tables as t
from smsdesk.store.base import (
    AuditEntry,
    Change,
    ConcurrentUpdate,
    HttpSession,
    OutboxRow,
    SessionRecord,
    SubscriptionRow,
)
from smsdesk.store.cluster import ClusterStore
from smsdesk.store.commit import (
    AddEvents,
    Claims,
    Docs,
    Later,
    TakeReference,
    commit_txn,
    insert_events,
)
from smsdesk.store.counters import AddCounters
from smsdesk.store.engines import pg_deferred, postgres, sqlite
from smsdesk.store.media import MediaRows
from smsdesk.store.pg_runner import PgRunner
from smsdesk.store.presence import PresenceRows
from smsdesk.store.runners import Runner, SqliteRunner
from smsdesk.store.skills import SkillRows
from smsdesk.store.statements import Db, Query
from smsdesk.store.tools import ToolRows

__all__ = ["SqlStore", "create_store"]

T = TypeVar("T")


def create_store(
    database_url: str, *, pg_read_connections: int = 8, pg_write_connections: int = 1
) -> SqlStore:
    if database_url.startswith("sqlite"):
        return SqlStore(SqliteRunner(sqlite.create_engine(database_url)), insert_events)
    if database_url.startswith(("postgresql", "postgres:")):
        runner = PgRunner(
            database_url,
            postgres.create_engine(database_url),
            read_connections=pg_read_connections,
            write_connections=pg_write_connections,
        )
        return SqlStore(
            runner, postgres.add_events, postgres.add_counters, postgres.take_reference, pg_deferred.LATER
        )
    raise ValueError(f"unsupported database URL {database_url!r}: use sqlite:///FILE or postgresql://...")


class SqlStore(PresenceRows, SkillRows, ToolRows, MediaRows, ClusterStore):
    def __init__(
        self,
        runner: Runner,
        add_events: AddEvents,
        add_counters: AddCounters | None = None,
        take_reference: TakeReference | None = None,
        later: Later | None = None,
    ) -> None:
        self.runner = runner
        self._add_events = add_events
        self._add_counters = add_counters  # None: written where they are counted (counters.write_counters)
        self._take_reference = take_reference  # None: commit.take_reference
        self._later = later  # None: every row written at once
        self.service_level_ms = 60_000  # the statistics' threshold, set from the settings (store/counters.py)

    @property
    def dialect(self) -> str:
        return self.runner.dialect_name

    async def close(self) -> None:
        await self.runner.close()

    async def _read(self, fn: Callable[..., T], *args: Any) -> T:
        return await self.runner.read(fn, *args)

    async def _read_one(self, fn: Callable[..., T], *args: Any) -> T:
        """For a body that runs exactly one statement (every read below does)."""
        return await self.runner.read_one(fn, *args)

    async def _write(self, fn: Callable[..., T], *args: Any, claims: Claims | None = None) -> T:
        return await self.runner.write(fn, *args, claims=claims)

    async def run_write(self, fn: Callable[[Connection], T]) -> T:
        """Run ``fn(conn)`` on a SQLAlchemy connection in a write transaction (migrations, test fixtures)."""
        return await self.runner.run_sa(fn)

    # ---- schema (tests and `migrate` use Alembic; this is for throwaway databases) ----
    async def create_all(self) -> None:
        await self.run_write(t.metadata.create_all)

    async def drop_all(self) -> None:
        await self.run_write(t.metadata.drop_all)

    # ---- users ----
    async def add_user(self, user: User) -> None:
        def txn(db: Db) -> None:
            if db.first(sq.USER_TAKEN, {"id": user.id, "user_name": user.user_name}) is not None:
                raise AlreadyExists(f"User '{user.user_name}' already exists")
            db.run(sq.USER_INSERT, rec.user_values(user))

        await self._write(txn)

    async def update_user(self, user: User) -> None:
        def txn(db: Db) -> None:
            db.run(sq.USER_UPDATE, {**rec.user_values(user), "b_id": user.id})

        await self._write(txn)

    async def reserve_references(self, user_id: str, count: int) -> int | None:
        """Take ``count`` referenceIds of ``user_id`` at once, committed at once, for a process that hands them
        out itself (``actions/references.py``); the last of them, or None for an unknown user. On PostgreSQL one
        statement in autocommit: the user's row is locked only while it runs, not for a write group."""

        def txn(db: Db) -> int | None:
            row = db.first(sq.USER_RESERVE_REFERENCES, {"b_id": user_id, "b_count": count})
            return int(row[0]) if row else None

        if self.dialect == "postgresql":
            return await self.runner.read_one(txn)  # autocommit, outside the write groups
        return await self._write(txn)

    async def get_user(self, user_id: str) -> User | None:
        def txn(db: Db) -> User | None:
            row = db.first(sq.USER_BY_ID, {"id": user_id})
            return rec.user(db, row) if row else None

        return await self._read_one(txn)

    async def get_user_by_name(self, user_name: str) -> User | None:
        def txn(db: Db) -> User | None:
            row = db.first(sq.USER_BY_NAME, {"user_name": user_name})
            return rec.user(db, row) if row else None

        return await self._read_one(txn)

    async def list_users(self) -> list[User]:
        def txn(db: Db) -> list[User]:
            return [rec.user(db, r) for r in db.all(sq.USERS)]

        return await self._read_one(txn)

    async def delete_user(self, user_id: str) -> bool:
        def txn(db: Db) -> bool:
            key = {"id": user_id}
            n = db.run(sq.USER_DELETE, key)
            db.run(sq.USER_HTTP_DELETE, key)
            db.run(sq.USER_AGENT_DELETE, key)
            return bool(n)

        return await self._write(txn)

    # ---- HTTP sessions ----
    async def put_http_session(self, session: HttpSession) -> None:
        def txn(db: Db) -> None:
            db.run(sq.HTTP_DELETE, {"id": session.id})
            db.run(
                sq.HTTP_INSERT,
                {
                    "id": session.id,
                    "user_id": session.user_id,
                    "csrf_token": session.csrf_token,
                    "created_ms": session.created_ms,
                    "expires_ms": session.expires_ms,
                },
            )

        await self._write(txn)

    async def get_http_session(self, session_id: str) -> HttpSession | None:
        def txn(db: Db) -> HttpSession | None:
            r = db.first(sq.HTTP_GET, {"id": session_id})
            return HttpSession(r[0], r[1], r[2], r[3], r[4]) if r else None

        return await self._read_one(txn)

    async def get_http_session_user(self, session_id: str) -> tuple[HttpSession, User] | None:
        """The session and its user in one statement; None when either is gone."""

        def txn(db: Db) -> tuple[HttpSession, User] | None:
            r = db.first(sq.HTTP_WITH_USER, {"id": session_id})
            if r is None:
                return None
            n = len(t.http_sessions.c)
            return HttpSession(r[0], r[1], r[2], r[3], r[4]), rec.user(db, r[n:])

        return await self._read_one(txn)

    async def delete_http_session(self, session_id: str) -> None:
        def txn(db: Db) -> None:
            db.run(sq.HTTP_DELETE, {"id": session_id})

        await self._write(txn)

    async def delete_expired_http_sessions(self, now_ms: int) -> int:
        def txn(db: Db) -> int:
            return db.run(sq.HTTP_EXPIRE, {"now": now_ms})

        return await self._write(txn)

    # ---- agents ----
    async def get_agent(self, user_id: str) -> AgentState | None:
        def txn(db: Db) -> AgentState | None:
            r = db.first(sq.AGENT_GET, {"user_id": user_id})
            return rec.agent(r) if r else None

        return await self._read_one(txn)

    async def list_agents(self) -> list[AgentState]:
        def txn(db: Db) -> list[AgentState]:
            return [rec.agent(r) for r in db.all(sq.AGENTS)]

        return await self._read_one(txn)

    async def list_agents_changed(self, since_ms: int) -> list[AgentState]:
        def txn(db: Db) -> list[AgentState]:
            return [
                rec.agent(r) for r in db.all(sq.AGENTS_CHANGED, {"since": since_ms, "idle_since": since_ms})
            ]

        return await self._read_one(txn)

    async def agent_loads(self) -> dict[str, int]:
        def txn(db: Db) -> dict[str, int]:
            return {uid: int(n) for uid, n in db.all(sq.LOADS)}

        return await self._read_one(txn)

    # ---- sessions ----
    async def _one_session(self, q: Query, params: Mapping[str, Any]) -> SessionRecord | None:
        def txn(db: Db) -> SessionRecord | None:
            found = rec.sessions(db, db.all(q, params))
            return found[0] if found else None

        return await self._read_one(txn)

    async def _session_list(self, q: Query, params: Mapping[str, Any]) -> list[SessionRecord]:
        def txn(db: Db) -> list[SessionRecord]:
            return rec.sessions(db, db.all(q, params))

        return await self._read_one(txn)

    async def get_session(self, session_id: str) -> SessionRecord | None:
        return await self._one_session(sq.SESSION_BY_ID, {"id": session_id})

    async def find_open_session(self, customer: str, business: str) -> SessionRecord | None:
        return await self._one_session(sq.SESSION_OPEN, {"customer": customer, "business": business})

    async def list_member_sessions(self, user_id: str) -> list[SessionRecord]:
        return await self._session_list(sq.SESSIONS_OF_MEMBER, {"user_id": user_id})

    async def latest_session(self, customer: str, business: str) -> SessionRecord | None:
        return await self._one_session(
            sq.SESSION_LATEST, {"customer": customer, "business": business, "limit": 1}
        )

    async def list_waiting_sessions(self, limit: int = 100) -> list[SessionRecord]:
        return await self._session_list(sq.SESSIONS_WAITING, {"limit": limit})

    async def list_due_sessions(self, now_ms: int, limit: int = 100) -> list[SessionRecord]:
        return await self._session_list(sq.SESSIONS_DUE, {"now": now_ms, "limit": limit})

    async def read_messages(
        self, session_id: str, start_index: int = 0, count: int | None = None
    ) -> list[Mapping[str, Any]]:
        def txn(db: Db) -> list[Mapping[str, Any]]:
            params = {"session_id": session_id, "start": start_index, "count": count}
            rows = db.all(sq.MESSAGES if count is None else sq.MESSAGES_SLICE, params)
            return [db.load_json(r[0]) for r in rows]

        return await self._read_one(txn)

    # ---- events ----
    async def read_events(self, user_ids: Collection[str], after: int, limit: int) -> list[StoredEvent]:
        users = list(user_ids)
        if not users:
            return []
        q = sq.EVENTS_OF.sized(len(users))
        params: dict[str, Any] = {f"u{i}": u for i, u in enumerate(users)}
        params["after"] = after
        params["limit"] = limit

        def txn(db: Db) -> list[StoredEvent]:
            return [rec.event(db, r) for r in db.all(q, params)]

        return await self._read_one(txn)

    async def read_all_events(self, after: int, limit: int) -> list[StoredEvent]:
        """Every user's events with ``id > after``: one primary-key range read (the hub filters in memory)."""

        def txn(db: Db) -> list[StoredEvent]:
            return [rec.event(db, r) for r in db.all(sq.EVENTS_ALL, {"after": after, "limit": limit})]

        return await self._read_one(txn)

    async def last_event_id(self) -> int:
        def txn(db: Db) -> int:
            row = db.first(sq.EVENT_LAST)
            return int(row[0]) if row else 0

        return await self._read_one(txn)

    # ---- inbound and opt-outs ----
    async def get_inbound(self, provider: str, provider_message_id: str) -> tuple[str | None] | None:
        def txn(db: Db) -> tuple[str | None] | None:
            r = db.first(sq.INBOUND_GET, {"provider": provider, "msg_id": provider_message_id})
            return (r[0],) if r else None

        return await self._read_one(txn)

    async def is_opted_out(self, number: str) -> bool:
        def txn(db: Db) -> bool:
            r = db.first(sq.OPTED_OUT, {"number": number})
            return bool(r and r[0])

        return await self._read_one(txn)

    # ---- outbox ----
    async def claim_outbound(self, now_ms: int, lease_ms: int, limit: int) -> list[OutboxRow]:
        if self.dialect == "postgresql":  # one statement (SKIP LOCKED: two nodes never lease one row)

            def claim(db: Db) -> list[OutboxRow]:
                params = {"now": now_ms, "limit": limit, "lease_until_ms": now_ms + lease_ms}
                return sorted((rec.outbox(r) for r in db.all(sq.OUTBOX_CLAIM, params)), key=lambda r: r.id)

            return await self._write(claim)

        def txn(db: Db) -> list[OutboxRow]:
            claimed = [
                oid
                for oid, lease in db.all(sq.OUTBOX_DUE, {"now": now_ms, "limit": limit})
                if db.run(
                    sq.OUTBOX_LEASE, {"b_id": oid, "b_lease": lease, "lease_until_ms": now_ms + lease_ms}
                )
            ]
            if not claimed:
                return []
            ids = {f"i{i}": oid for i, oid in enumerate(claimed)}
            return [rec.outbox(r) for r in db.all(sq.OUTBOX_IN.sized(len(claimed)), ids)]

        return await self._write(txn)

    async def get_outbound(self, outbox_id: int) -> OutboxRow | None:
        def txn(db: Db) -> OutboxRow | None:
            r = db.first(sq.OUTBOX_GET, {"id": outbox_id})
            return rec.outbox(r) if r else None

        return await self._read_one(txn)

    async def find_outbound_by_provider_id(self, provider: str, provider_message_id: str) -> OutboxRow | None:
        def txn(db: Db) -> OutboxRow | None:
            r = db.first(sq.OUTBOX_BY_PROVIDER_ID, {"provider": provider, "msg_id": provider_message_id})
            return rec.outbox(r) if r else None

        return await self._read_one(txn)

    async def mark_outbound_sent(self, outbox_id: int, provider_message_id: str, now_ms: int) -> None:
        await self._update_outbox(sq.OUTBOX_SENT, {"b_id": outbox_id, "pmid": provider_message_id})

    async def mark_outbound_retry(self, outbox_id: int, next_attempt_ms: int, error: str) -> None:
        await self._update_outbox(
            sq.OUTBOX_RETRY, {"b_id": outbox_id, "next": next_attempt_ms, "error": error}
        )

    async def mark_outbound_failed(self, outbox_id: int, error: str) -> None:
        await self._update_outbox(sq.OUTBOX_FAILED, {"b_id": outbox_id, "error": error})

    async def _update_outbox(self, q: Query, params: Mapping[str, Any]) -> None:
        def txn(db: Db) -> None:
            db.run(q, params)

        await self._write(txn)

    # ---- supervision ----
    async def list_subscriptions(
        self, *, agent_id: str | None = None, supervisor_id: str | None = None
    ) -> list[SubscriptionRow]:
        if agent_id is not None and supervisor_id is not None:
            q = sq.SUB_ONE
        elif agent_id is not None:
            q = sq.SUBS_OF_AGENT
        elif supervisor_id is not None:
            q = sq.SUBS_OF_SUPERVISOR
        else:
            q = sq.SUBS
        params = {"agent_id": agent_id, "supervisor_id": supervisor_id}

        def txn(db: Db) -> list[SubscriptionRow]:
            return [SubscriptionRow(r[0], r[1], db.load_json(r[2])) for r in db.all(q, params)]

        return await self._read_one(txn)

    async def list_audit(self, limit: int = 100, before_id: int | None = None) -> list[AuditEntry]:
        def txn(db: Db) -> list[AuditEntry]:
            q = sq.AUDIT if before_id is None else sq.AUDIT_BEFORE
            rows = db.all(q, {"limit": limit, "before": before_id})
            # table order: id, actor_id, action, target_id, details, created_ms
            return [AuditEntry(r[1], r[2], r[3], db.load_json(r[4]), r[5], r[0]) for r in rows]

        return await self._read_one(txn)

    # ---- leases ----
    async def acquire_lease(self, name: str, holder: str, now_ms: int, ttl_ms: int) -> bool:
        def txn(db: Db) -> bool:
            row = db.first(sq.LEASE_GET, {"name": name})
            if row is None:
                db.run(sq.LEASE_INSERT, {"name": name, "holder": holder, "until_ms": now_ms + ttl_ms})
                return True
            if row[0] != holder and row[1] > now_ms:
                return False
            n = db.run(
                sq.LEASE_TAKE,
                {
                    "b_name": name,
                    "b_holder": row[0],
                    "b_until": row[1],
                    "holder": holder,
                    "until_ms": now_ms + ttl_ms,
                },
            )
            return bool(n)

        try:
            return await self._write(txn)
        except IntegrityError:
            return False  # another node inserted it first

    # ---- the write path (store/commit.py) ----
    async def commit(self, change: Change) -> int:
        try:
            return await self._write(
                commit_txn,
                change,
                Docs(change),
                self._add_events,
                self.service_level_ms,
                self._add_counters,
                self._take_reference,
                self._later,
                claims=Claims(change),
            )
        except IntegrityError as exc:
            if change.inbound_keys and "inbound" in str(exc.orig).lower():
                raise AlreadyExists("This provider message was already received") from exc
            raise ConcurrentUpdate(str(exc.orig)) from exc
