"""The SQL store (SQLite via the standard sqlite3 driver on worker threads, PostgreSQL via asyncpg),
implementing ``store.base.Store``.

Each public method is async and runs one sync transaction body (``store/runners.py`` decides how). Every
statement is SQLAlchemy Core built once, at import, with named ``bindparam``s, and compiled once per dialect
(``store/statements.py``); a body runs them on a ``Db`` and maps the row tuples (columns in the order the
statement selects them) to records. Dialect differences live in ``engines/``.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any, TypeVar

from sqlalchemy import and_, bindparam, delete, func, insert, or_, select, text, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql import ColumnElement
from sqlalchemy.sql.expression import Select

from smsdesk.domain.agents import AgentState, ChannelState
from smsdesk.domain.errors import AlreadyExists
from smsdesk.domain.events import StoredEvent
from smsdesk.domain.users import Role, User
from smsdesk.store import tables as t
from smsdesk.store.base import (
    AuditEntry,
    Change,
    ConcurrentUpdate,
    HttpSession,
    Milestones,
    OutboxRow,
    SessionRecord,
    SessionWrite,
    SubscriptionRow,
)
from smsdesk.store.counters import count_milestones
from smsdesk.store.engines import postgres, sqlite
from smsdesk.store.runners import AsyncRunner, Runner, SqliteRunner
from smsdesk.store.statements import Db, Query, QueryFamily, dump_json

__all__ = ["SqlStore", "create_store"]

T = TypeVar("T")


def create_store(database_url: str) -> SqlStore:
    if database_url.startswith("sqlite"):
        return SqlStore(SqliteRunner(sqlite.create_engine(database_url)), sqlite.lock_for_events)
    if database_url.startswith(("postgresql", "postgres:")):
        return SqlStore(AsyncRunner(postgres.create_engine(database_url)), postgres.lock_for_events)
    raise ValueError(f"unsupported database URL {database_url!r}: use sqlite:///FILE or postgresql://...")


def _p(name: str) -> Any:
    return bindparam(name)


def _doc(value: Mapping[str, Any]) -> str:
    """A JSON column's text for a mapping (the domain hands read-only mappings too)."""
    return dump_json(value if isinstance(value, dict) else dict(value))


# ---- statements (columns of ``select(table)`` come in the table's column order, tables.py) ----

_U, _H, _A, _S, _M = t.users, t.http_sessions, t.agents, t.sms_sessions, t.session_members
_MSG, _E, _O, _IN, _OPT = t.messages, t.events, t.outbox, t.inbound, t.opt_outs
_SUB, _L, _AUD = t.subscriptions, t.leases, t.audit_log

_USER_TAKEN = Query(select(_U.c.id).where(or_(_U.c.id == _p("id"), _U.c.user_name == _p("user_name"))))
_USER_INSERT = Query(insert(_U).values({c.name: _p(c.name) for c in _U.c}))
_USER_UPDATE = Query(
    update(_U).where(_U.c.id == _p("b_id")).values({c.name: _p(c.name) for c in _U.c if c.name != "id"})
)
_USER_BY_ID = Query(select(_U).where(_U.c.id == _p("id")))
_USER_BY_NAME = Query(select(_U).where(_U.c.user_name == _p("user_name")))
_USERS = Query(select(_U).order_by(_U.c.user_name))
_USER_DELETE = Query(delete(_U).where(_U.c.id == _p("id")))
_USER_HTTP_DELETE = Query(delete(_H).where(_H.c.user_id == _p("id")))
_USER_AGENT_DELETE = Query(delete(_A).where(_A.c.user_id == _p("id")))

_HTTP_DELETE = Query(delete(_H).where(_H.c.id == _p("id")))
_HTTP_INSERT = Query(insert(_H).values({c.name: _p(c.name) for c in _H.c}))
_HTTP_GET = Query(select(_H).where(_H.c.id == _p("id")))
_HTTP_EXPIRE = Query(delete(_H).where(_H.c.expires_ms <= _p("now")))

_AGENT_GET = Query(select(_A).where(_A.c.user_id == _p("user_id")))
_AGENTS = Query(select(_A).order_by(_A.c.idle_since_ms, _A.c.user_id))
_AGENTS_CHANGED = Query(
    select(_A).where(or_(_A.c.since_ms >= _p("since"), _A.c.idle_since_ms >= _p("idle_since")))
)
_AGENT_UPDATE = Query(
    update(_A)
    .where(_A.c.user_id == _p("b_user_id"))
    .values({c.name: _p(c.name) for c in _A.c if c.name != "user_id"})
)
_AGENT_INSERT = Query(insert(_A).values({c.name: _p(c.name) for c in _A.c}))
_AGENT_IDLE = Query(
    update(_A).where(_A.c.user_id == _p("b_user_id")).values(idle_since_ms=_p("idle_since_ms"))
)
_LOADS = Query(select(_M.c.user_id, func.count()).where(_M.c.counts).group_by(_M.c.user_id))

_SESSION_INSERT = Query(insert(_S).values({c.name: _p(c.name) for c in _S.c}))
_SESSION_UPDATE = Query(
    update(_S)
    .where(_S.c.id == _p("b_id"), _S.c.version == _p("b_version"))
    .values({c.name: _p(c.name) for c in _S.c if c.name != "id"})
)
# The columns an index of sms_sessions holds, or filters on (the partial unique index's ``is_open``). An
# UPDATE that sets one of them rewrites that index's entry even when the value is the same (SQLite decides by
# the columns set): most session writes (a message, a receipt, a supervisor joining a chat under way) leave
# them as they were, and set only the others. A join at Accept rides on the Accept's write, which sets them.
_SESSION_INDEXED = tuple(sorted({c.name for ix in _S.indexes for c in ix.columns} | {"is_open"}))
_SESSION_UPDATE_UNINDEXED = Query(
    update(_S)
    .where(_S.c.id == _p("b_id"), _S.c.version == _p("b_version"))
    .values({c.name: _p(c.name) for c in _S.c if c.name != "id" and c.name not in _SESSION_INDEXED})
)
_indexed_values = operator.attrgetter(*(n for n in _SESSION_INDEXED if n in SessionRecord.__slots__))
_MEMBERS_DELETE = Query(delete(_M).where(_M.c.session_id == _p("session_id")))
# a session's members are pruned and upserted, so that an unchanged member's row is not written again (most
# session writes leave the members as they were): the same SQL on SQLite and PostgreSQL
_MEMBERS_PRUNE = QueryFamily(
    lambda n: delete(_M).where(
        _M.c.session_id == _p("session_id"), _M.c.user_id.not_in([_p(f"u{i}") for i in range(n)])
    )
)
_MEMBER_UPSERT = Query(
    text(
        "INSERT INTO session_members (session_id, user_id, counts) VALUES (:session_id, :user_id, :counts)"
        " ON CONFLICT (session_id, user_id) DO UPDATE SET counts = excluded.counts"
        " WHERE session_members.counts <> excluded.counts"
    )
)


def _sessions_query(
    where: ColumnElement[bool], order: Sequence[tuple[str, bool]] = (), limited: bool = False
) -> Query:
    """Sessions and their members in one statement: one row per (session, member), a session's rows together.

    ``order`` is (column name, descending); the session id breaks ties. ``limited`` adds a ``limit`` parameter
    counting sessions (not rows).
    """
    s: Any = _S
    if limited:
        inner = select(_S).where(where).order_by(*(_S.c[n].desc() if d else _S.c[n] for n, d in order))
        s = inner.limit(_p("limit")).subquery("s")
    q: Select[Any] = select(*s.c, _M.c.user_id, _M.c.counts).select_from(
        s.outerjoin(_M, _M.c.session_id == s.c.id)
    )
    if not limited:
        q = q.where(where)
    return Query(q.order_by(*(s.c[n].desc() if d else s.c[n] for n, d in order), s.c.id))


_SESSION_BY_ID = _sessions_query(_S.c.id == _p("id"))
_SESSION_OPEN = _sessions_query(
    and_(_S.c.customer == _p("customer"), _S.c.business == _p("business"), _S.c.is_open)
)
_SESSIONS_OF_MEMBER = _sessions_query(
    _S.c.id.in_(select(_M.c.session_id).where(_M.c.user_id == _p("user_id"))), [("created_ms", False)]
)
_SESSION_LATEST = _sessions_query(
    and_(_S.c.customer == _p("customer"), _S.c.business == _p("business")), [("created_ms", True)], True
)
_SESSIONS_WAITING = _sessions_query(_S.c.waiting, [("queued_ms", False)], True)
_SESSIONS_DUE = _sessions_query(_S.c.deadline_ms <= _p("now"), [("deadline_ms", False)], True)

_MESSAGES_FROM = select(_MSG.c.data).where(_MSG.c.session_id == _p("session_id"), _MSG.c.idx >= _p("start"))
_MESSAGES = Query(_MESSAGES_FROM.order_by(_MSG.c.idx))
_MESSAGES_SLICE = Query(_MESSAGES_FROM.order_by(_MSG.c.idx).limit(_p("count")))
_MESSAGE_INSERT = Query(insert(_MSG).values({c.name: _p(c.name) for c in _MSG.c}))
_MESSAGE_UPDATE = Query(
    update(_MSG)
    .where(_MSG.c.session_id == _p("b_session_id"), _MSG.c.idx == _p("b_idx"))
    .values(data=_p("data"))
)

_EVENT_COLS = (_E.c.id, _E.c.user_id, _E.c.channel, _E.c.data)
_EVENTS_OF = QueryFamily(
    lambda n: (
        select(*_EVENT_COLS)
        .where(_E.c.id > _p("after"), _E.c.user_id.in_([_p(f"u{i}") for i in range(n)]))
        .order_by(_E.c.id)
        .limit(_p("limit"))
    )
)
_EVENTS_ALL = Query(select(*_EVENT_COLS).where(_E.c.id > _p("after")).order_by(_E.c.id).limit(_p("limit")))
_EVENT_LAST = Query(select(func.coalesce(func.max(_E.c.id), 0)))
_EVENT_INSERT = Query(insert(_E).values({c.name: _p(c.name) for c in _E.c if c.name != "id"}))

_INBOUND_GET = Query(
    select(_IN.c.session_id).where(
        _IN.c.provider == _p("provider"), _IN.c.provider_message_id == _p("msg_id")
    )
)
_INBOUND_INSERT = Query(insert(_IN).values({c.name: _p(c.name) for c in _IN.c}))
_OPTED_OUT = Query(select(_OPT.c.opted_out).where(_OPT.c.number == _p("number")))
_OPT_OUT_DELETE = Query(delete(_OPT).where(_OPT.c.number == _p("number")))
_OPT_OUT_INSERT = Query(insert(_OPT).values({c.name: _p(c.name) for c in _OPT.c}))

_OUTBOX_DUE = Query(
    select(_O.c.id, _O.c.lease_until_ms)
    .where(_O.c.status == "pending", _O.c.next_attempt_ms <= _p("now"), _O.c.lease_until_ms <= _p("now"))
    .order_by(_O.c.id)
    .limit(_p("limit"))
    .with_for_update(skip_locked=True)
)
_OUTBOX_LEASE = Query(
    update(_O)
    .where(_O.c.id == _p("b_id"), _O.c.lease_until_ms == _p("b_lease"))
    .values(lease_until_ms=_p("lease_until_ms"), attempts=_O.c.attempts + 1)
)
_OUTBOX_IN = QueryFamily(
    lambda n: select(_O).where(_O.c.id.in_([_p(f"i{i}") for i in range(n)])).order_by(_O.c.id)
)
_OUTBOX_GET = Query(select(_O).where(_O.c.id == _p("id")))
_OUTBOX_BY_PROVIDER_ID = Query(
    select(_O).where(_O.c.provider == _p("provider"), _O.c.provider_message_id == _p("msg_id")).limit(1)
)
_OUTBOX_INSERT = Query(insert(_O).values({c.name: _p(c.name) for c in _O.c if c.name != "id"}))
_OUTBOX_SENT = Query(
    update(_O).where(_O.c.id == _p("b_id")).values(status="sent", provider_message_id=_p("pmid"), error=None)
)
_OUTBOX_RETRY = Query(
    update(_O)
    .where(_O.c.id == _p("b_id"))
    .values(next_attempt_ms=_p("next"), lease_until_ms=0, error=_p("error"))
)
_OUTBOX_FAILED = Query(update(_O).where(_O.c.id == _p("b_id")).values(status="failed", error=_p("error")))

_SUBS_ORDER = (_SUB.c.supervisor_id, _SUB.c.agent_id)
_SUBS = Query(select(_SUB).order_by(*_SUBS_ORDER))
_SUBS_OF_AGENT = Query(select(_SUB).where(_SUB.c.agent_id == _p("agent_id")).order_by(*_SUBS_ORDER))
_SUBS_OF_SUPERVISOR = Query(
    select(_SUB).where(_SUB.c.supervisor_id == _p("supervisor_id")).order_by(*_SUBS_ORDER)
)
_SUB_ONE = Query(
    select(_SUB)
    .where(_SUB.c.agent_id == _p("agent_id"), _SUB.c.supervisor_id == _p("supervisor_id"))
    .order_by(*_SUBS_ORDER)
)
_SUB_DELETE = Query(
    delete(_SUB).where(_SUB.c.supervisor_id == _p("supervisor_id"), _SUB.c.agent_id == _p("agent_id"))
)
_SUB_INSERT = Query(insert(_SUB).values({c.name: _p(c.name) for c in _SUB.c}))

_AUDIT = Query(select(_AUD).order_by(_AUD.c.id.desc()).limit(_p("limit")))
_AUDIT_BEFORE = Query(
    select(_AUD).where(_AUD.c.id < _p("before")).order_by(_AUD.c.id.desc()).limit(_p("limit"))
)
_AUDIT_INSERT = Query(insert(_AUD).values({c.name: _p(c.name) for c in _AUD.c if c.name != "id"}))

_LEASE_GET = Query(select(_L.c.holder, _L.c.until_ms).where(_L.c.name == _p("name")))
_LEASE_INSERT = Query(insert(_L).values({c.name: _p(c.name) for c in _L.c}))
_LEASE_TAKE = Query(
    update(_L)
    .where(_L.c.name == _p("b_name"), _L.c.holder == _p("b_holder"), _L.c.until_ms == _p("b_until"))
    .values(holder=_p("holder"), until_ms=_p("until_ms"))
)


# ---- rows to records ----


def _user(db: Db, r: Sequence[Any]) -> User:
    return User(
        id=r[0],
        user_name=r[1],
        password_hash=r[2],
        roles=frozenset(Role(x) for x in db.load_json(r[3])),
        first_name=r[4],
        last_name=r[5],
        nickname=r[6],
        capacity=r[7],
        enabled=bool(r[8]),
        created_ms=r[9],
    )


def _user_values(user: User) -> dict[str, Any]:
    return {
        "id": user.id,
        "user_name": user.user_name,
        "password_hash": user.password_hash,
        "roles": dump_json(sorted(r.value for r in user.roles)),
        "first_name": user.first_name,
        "last_name": user.last_name,
        "nickname": user.nickname,
        "capacity": user.capacity,
        "enabled": user.enabled,
        "created_ms": user.created_ms,
    }


def _sessions(db: Db, rows: Sequence[Sequence[Any]]) -> list[SessionRecord]:
    """Records from ``_sessions_query`` rows: id … data (the table's columns), then member id and counts."""
    out: list[SessionRecord] = []
    r: Sequence[Any] | None = None
    members: set[str] = set()
    load: set[str] = set()
    for row in rows:
        if r is None or row[0] != r[0]:
            if r is not None:
                out.append(_session(db, r, members, load))
            r, members, load = row, set(), set()
        member = row[_NCOLS]
        if member is not None:
            members.add(member)
            if row[_NCOLS + 1]:
                load.add(member)
    if r is not None:
        out.append(_session(db, r, members, load))
    return out


def _session(db: Db, r: Sequence[Any], members: set[str], load: set[str]) -> SessionRecord:
    return SessionRecord(
        id=r[0],
        version=r[1],
        is_open=bool(r[2]),
        waiting=bool(r[3]),
        queue=r[4],
        customer=r[5],
        business=r[6],
        created_ms=r[7],
        updated_ms=r[8],
        queued_ms=r[9],
        deadline_ms=r[10],
        data=db.load_json(r[11]),
        members=frozenset(members),
        load_members=frozenset(load),
        milestones=Milestones(r[12], r[13], r[14], r[15], r[16], r[17], r[18]),
    )


_NCOLS = len(_S.c)  # a ``_sessions_query`` row: the table's columns, then the member's id and counts


_CHANNEL_STATES = {s.value: s for s in ChannelState}


def _agent(r: Sequence[Any]) -> AgentState:
    # table order: user_id, state, reason, since_ms, idle_since_ms
    return AgentState(r[0], _CHANNEL_STATES[r[1]], r[2], r[3], r[4])


def _outbox(r: Sequence[Any]) -> OutboxRow:
    # table order: id, provider, from, to, text, session_id, message_index, status, attempts, next_attempt_ms,
    # lease_until_ms, provider_message_id, error, created_ms
    return OutboxRow(
        id=r[0],
        provider=r[1],
        from_number=r[2],
        to_number=r[3],
        text=r[4],
        session_id=r[5],
        message_index=r[6],
        status=r[7],
        attempts=r[8],
        next_attempt_ms=r[9],
        provider_message_id=r[11],
        error=r[12],
        created_ms=r[13],
    )


def _event(db: Db, r: Sequence[Any]) -> StoredEvent:
    data = r[3]
    # An event's data is a JSON object: text here is the stored JSON (SQLite), handed over undecoded for the
    # hub to write to the wire as it is, unless it may hold the stdlib's NaN / Infinity (not JSON for a client).
    if isinstance(data, str) and "NaN" not in data and "Infinity" not in data:
        return StoredEvent(r[0], r[1], r[2], json=data)
    return StoredEvent(r[0], r[1], r[2], db.load_json(data))


class SqlStore:
    def __init__(self, runner: Runner, lock_for_events: Callable[[Db], None]) -> None:
        self.runner = runner
        self._lock_for_events = lock_for_events
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

    async def _write(self, fn: Callable[..., T], *args: Any) -> T:
        return await self.runner.write(fn, *args)

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
            if db.first(_USER_TAKEN, {"id": user.id, "user_name": user.user_name}) is not None:
                raise AlreadyExists(f"User '{user.user_name}' already exists")
            db.run(_USER_INSERT, _user_values(user))

        await self._write(txn)

    async def update_user(self, user: User) -> None:
        def txn(db: Db) -> None:
            db.run(_USER_UPDATE, {**_user_values(user), "b_id": user.id})

        await self._write(txn)

    async def get_user(self, user_id: str) -> User | None:
        def txn(db: Db) -> User | None:
            row = db.first(_USER_BY_ID, {"id": user_id})
            return _user(db, row) if row else None

        return await self._read_one(txn)

    async def get_user_by_name(self, user_name: str) -> User | None:
        def txn(db: Db) -> User | None:
            row = db.first(_USER_BY_NAME, {"user_name": user_name})
            return _user(db, row) if row else None

        return await self._read_one(txn)

    async def list_users(self) -> list[User]:
        def txn(db: Db) -> list[User]:
            return [_user(db, r) for r in db.all(_USERS)]

        return await self._read_one(txn)

    async def delete_user(self, user_id: str) -> bool:
        def txn(db: Db) -> bool:
            key = {"id": user_id}
            n = db.run(_USER_DELETE, key)
            db.run(_USER_HTTP_DELETE, key)
            db.run(_USER_AGENT_DELETE, key)
            return bool(n)

        return await self._write(txn)

    # ---- HTTP sessions ----
    async def put_http_session(self, session: HttpSession) -> None:
        def txn(db: Db) -> None:
            db.run(_HTTP_DELETE, {"id": session.id})
            db.run(
                _HTTP_INSERT,
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
            r = db.first(_HTTP_GET, {"id": session_id})
            return HttpSession(r[0], r[1], r[2], r[3], r[4]) if r else None

        return await self._read_one(txn)

    async def delete_http_session(self, session_id: str) -> None:
        def txn(db: Db) -> None:
            db.run(_HTTP_DELETE, {"id": session_id})

        await self._write(txn)

    async def delete_expired_http_sessions(self, now_ms: int) -> int:
        def txn(db: Db) -> int:
            return db.run(_HTTP_EXPIRE, {"now": now_ms})

        return await self._write(txn)

    # ---- agents ----
    async def get_agent(self, user_id: str) -> AgentState | None:
        def txn(db: Db) -> AgentState | None:
            r = db.first(_AGENT_GET, {"user_id": user_id})
            return _agent(r) if r else None

        return await self._read_one(txn)

    async def list_agents(self) -> list[AgentState]:
        def txn(db: Db) -> list[AgentState]:
            return [_agent(r) for r in db.all(_AGENTS)]

        return await self._read_one(txn)

    async def list_agents_changed(self, since_ms: int) -> list[AgentState]:
        def txn(db: Db) -> list[AgentState]:
            return [_agent(r) for r in db.all(_AGENTS_CHANGED, {"since": since_ms, "idle_since": since_ms})]

        return await self._read_one(txn)

    async def agent_loads(self) -> dict[str, int]:
        def txn(db: Db) -> dict[str, int]:
            return {uid: int(n) for uid, n in db.all(_LOADS)}

        return await self._read_one(txn)

    # ---- sessions ----
    async def _one_session(self, q: Query, params: Mapping[str, Any]) -> SessionRecord | None:
        def txn(db: Db) -> SessionRecord | None:
            found = _sessions(db, db.all(q, params))
            return found[0] if found else None

        return await self._read_one(txn)

    async def _session_list(self, q: Query, params: Mapping[str, Any]) -> list[SessionRecord]:
        def txn(db: Db) -> list[SessionRecord]:
            return _sessions(db, db.all(q, params))

        return await self._read_one(txn)

    async def get_session(self, session_id: str) -> SessionRecord | None:
        return await self._one_session(_SESSION_BY_ID, {"id": session_id})

    async def find_open_session(self, customer: str, business: str) -> SessionRecord | None:
        return await self._one_session(_SESSION_OPEN, {"customer": customer, "business": business})

    async def list_member_sessions(self, user_id: str) -> list[SessionRecord]:
        return await self._session_list(_SESSIONS_OF_MEMBER, {"user_id": user_id})

    async def latest_session(self, customer: str, business: str) -> SessionRecord | None:
        return await self._one_session(
            _SESSION_LATEST, {"customer": customer, "business": business, "limit": 1}
        )

    async def list_waiting_sessions(self, limit: int = 100) -> list[SessionRecord]:
        return await self._session_list(_SESSIONS_WAITING, {"limit": limit})

    async def list_due_sessions(self, now_ms: int, limit: int = 100) -> list[SessionRecord]:
        return await self._session_list(_SESSIONS_DUE, {"now": now_ms, "limit": limit})

    async def read_messages(
        self, session_id: str, start_index: int = 0, count: int | None = None
    ) -> list[Mapping[str, Any]]:
        def txn(db: Db) -> list[Mapping[str, Any]]:
            params = {"session_id": session_id, "start": start_index, "count": count}
            rows = db.all(_MESSAGES if count is None else _MESSAGES_SLICE, params)
            return [db.load_json(r[0]) for r in rows]

        return await self._read_one(txn)

    # ---- events ----
    async def read_events(self, user_ids: Collection[str], after: int, limit: int) -> list[StoredEvent]:
        users = list(user_ids)
        if not users:
            return []
        q = _EVENTS_OF.sized(len(users))
        params: dict[str, Any] = {f"u{i}": u for i, u in enumerate(users)}
        params["after"] = after
        params["limit"] = limit

        def txn(db: Db) -> list[StoredEvent]:
            return [_event(db, r) for r in db.all(q, params)]

        return await self._read_one(txn)

    async def read_all_events(self, after: int, limit: int) -> list[StoredEvent]:
        """Every user's events with ``id > after``: one primary-key range read (the hub filters in memory)."""

        def txn(db: Db) -> list[StoredEvent]:
            return [_event(db, r) for r in db.all(_EVENTS_ALL, {"after": after, "limit": limit})]

        return await self._read_one(txn)

    async def last_event_id(self) -> int:
        def txn(db: Db) -> int:
            row = db.first(_EVENT_LAST)
            return int(row[0]) if row else 0

        return await self._read_one(txn)

    # ---- inbound and opt-outs ----
    async def get_inbound(self, provider: str, provider_message_id: str) -> tuple[str | None] | None:
        def txn(db: Db) -> tuple[str | None] | None:
            r = db.first(_INBOUND_GET, {"provider": provider, "msg_id": provider_message_id})
            return (r[0],) if r else None

        return await self._read_one(txn)

    async def is_opted_out(self, number: str) -> bool:
        def txn(db: Db) -> bool:
            r = db.first(_OPTED_OUT, {"number": number})
            return bool(r and r[0])

        return await self._read_one(txn)

    # ---- outbox ----
    async def claim_outbound(self, now_ms: int, lease_ms: int, limit: int) -> list[OutboxRow]:
        def txn(db: Db) -> list[OutboxRow]:
            claimed = [
                oid
                for oid, lease in db.all(_OUTBOX_DUE, {"now": now_ms, "limit": limit})
                if db.run(_OUTBOX_LEASE, {"b_id": oid, "b_lease": lease, "lease_until_ms": now_ms + lease_ms})
            ]
            if not claimed:
                return []
            ids = {f"i{i}": oid for i, oid in enumerate(claimed)}
            return [_outbox(r) for r in db.all(_OUTBOX_IN.sized(len(claimed)), ids)]

        return await self._write(txn)

    async def get_outbound(self, outbox_id: int) -> OutboxRow | None:
        def txn(db: Db) -> OutboxRow | None:
            r = db.first(_OUTBOX_GET, {"id": outbox_id})
            return _outbox(r) if r else None

        return await self._read_one(txn)

    async def find_outbound_by_provider_id(self, provider: str, provider_message_id: str) -> OutboxRow | None:
        def txn(db: Db) -> OutboxRow | None:
            r = db.first(_OUTBOX_BY_PROVIDER_ID, {"provider": provider, "msg_id": provider_message_id})
            return _outbox(r) if r else None

        return await self._read_one(txn)

    async def mark_outbound_sent(self, outbox_id: int, provider_message_id: str, now_ms: int) -> None:
        await self._update_outbox(_OUTBOX_SENT, {"b_id": outbox_id, "pmid": provider_message_id})

    async def mark_outbound_retry(self, outbox_id: int, next_attempt_ms: int, error: str) -> None:
        await self._update_outbox(_OUTBOX_RETRY, {"b_id": outbox_id, "next": next_attempt_ms, "error": error})

    async def mark_outbound_failed(self, outbox_id: int, error: str) -> None:
        await self._update_outbox(_OUTBOX_FAILED, {"b_id": outbox_id, "error": error})

    async def _update_outbox(self, q: Query, params: Mapping[str, Any]) -> None:
        def txn(db: Db) -> None:
            db.run(q, params)

        await self._write(txn)

    # ---- supervision ----
    async def list_subscriptions(
        self, *, agent_id: str | None = None, supervisor_id: str | None = None
    ) -> list[SubscriptionRow]:
        if agent_id is not None and supervisor_id is not None:
            q = _SUB_ONE
        elif agent_id is not None:
            q = _SUBS_OF_AGENT
        elif supervisor_id is not None:
            q = _SUBS_OF_SUPERVISOR
        else:
            q = _SUBS
        params = {"agent_id": agent_id, "supervisor_id": supervisor_id}

        def txn(db: Db) -> list[SubscriptionRow]:
            return [SubscriptionRow(r[0], r[1], db.load_json(r[2])) for r in db.all(q, params)]

        return await self._read_one(txn)

    async def list_audit(self, limit: int = 100, before_id: int | None = None) -> list[AuditEntry]:
        def txn(db: Db) -> list[AuditEntry]:
            q = _AUDIT if before_id is None else _AUDIT_BEFORE
            rows = db.all(q, {"limit": limit, "before": before_id})
            # table order: id, actor_id, action, target_id, details, created_ms
            return [AuditEntry(r[1], r[2], r[3], db.load_json(r[4]), r[5], r[0]) for r in rows]

        return await self._read_one(txn)

    # ---- leases ----
    async def acquire_lease(self, name: str, holder: str, now_ms: int, ttl_ms: int) -> bool:
        def txn(db: Db) -> bool:
            row = db.first(_LEASE_GET, {"name": name})
            if row is None:
                db.run(_LEASE_INSERT, {"name": name, "holder": holder, "until_ms": now_ms + ttl_ms})
                return True
            if row[0] != holder and row[1] > now_ms:
                return False
            n = db.run(
                _LEASE_TAKE,
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

    # ---- the write path ----
    async def commit(self, change: Change) -> int:
        try:
            return await self._write(self._commit_txn, change, _Docs(change))
        except IntegrityError as exc:
            if change.inbound_keys and "inbound" in str(exc.orig).lower():
                raise AlreadyExists("This provider message was already received") from exc
            raise ConcurrentUpdate(str(exc.orig)) from exc

    def _commit_txn(self, db: Db, change: Change, docs: _Docs) -> int:
        now = max([w.record.updated_ms for w in change.sessions] or [0])
        for provider, msg_id, session_id in change.inbound_keys:
            db.run(
                _INBOUND_INSERT,
                {
                    "provider": provider,
                    "provider_message_id": msg_id,
                    "session_id": session_id,
                    "created_ms": now,
                },
            )
        for w, doc in zip(change.sessions, docs.sessions, strict=True):
            _write_session(db, w, doc)
        if change.sessions:
            count_milestones(db, change.sessions, self.service_level_ms)  # statistics (liveops)
        if change.messages:
            db.run_many(
                _MESSAGE_INSERT,
                [
                    {"session_id": sid, "idx": int(msg["index"]), "data": doc}
                    for (sid, msg), doc in zip(change.messages, docs.messages, strict=True)
                ],
            )
        for (session_id, msg), doc in zip(change.message_updates, docs.message_updates, strict=True):
            db.run(_MESSAGE_UPDATE, {"b_session_id": session_id, "b_idx": int(msg["index"]), "data": doc})
        for agent in change.agents:
            _upsert_agent(db, agent)
        for user_id, idle_ms in change.agents_idle:
            db.run(_AGENT_IDLE, {"b_user_id": user_id, "idle_since_ms": idle_ms})
        if change.outbound:
            db.run_many(
                _OUTBOX_INSERT,
                [
                    {
                        "provider": o.provider,
                        "from_number": o.from_number,
                        "to_number": o.to_number,
                        "text": o.text,
                        "session_id": o.session_id,
                        "message_index": o.message_index,
                        "status": "pending",
                        "attempts": 0,
                        "next_attempt_ms": 0,
                        "lease_until_ms": 0,
                        "provider_message_id": None,
                        "error": None,
                        "created_ms": now,
                    }
                    for o in change.outbound
                ],
            )
        for outbox_id, provider_message_id in change.outbound_sent:
            db.run(_OUTBOX_SENT, {"b_id": outbox_id, "pmid": provider_message_id})
        for number, opted_out in change.opt_outs:
            db.run(_OPT_OUT_DELETE, {"number": number})
            db.run(_OPT_OUT_INSERT, {"number": number, "opted_out": opted_out, "updated_ms": now})
        for sub, doc in zip(change.subscriptions_put, docs.subscriptions, strict=True):
            key = {"supervisor_id": sub.supervisor_id, "agent_id": sub.agent_id}
            db.run(_SUB_DELETE, key)
            db.run(_SUB_INSERT, {**key, "data": doc})
        for supervisor_id, agent_id in change.subscriptions_delete:
            db.run(_SUB_DELETE, {"supervisor_id": supervisor_id, "agent_id": agent_id})
        for a, doc in zip(change.audit, docs.audit, strict=True):
            db.run(
                _AUDIT_INSERT,
                {
                    "actor_id": a.actor_id,
                    "action": a.action,
                    "target_id": a.target_id,
                    "details": doc,
                    "created_ms": a.created_ms,
                },
            )
        if change.notifications:
            self._lock_for_events(db)
            db.run_many(
                _EVENT_INSERT,
                [
                    {"user_id": n.user_id, "channel": n.channel, "data": doc, "created_ms": now}
                    for n, doc in zip(change.notifications, docs.notifications, strict=True)
                ],
            )
            row = db.first(_EVENT_LAST)
            return int(row[0]) if row else 0
        return 0


class _Docs:
    """The JSON texts of a change, encoded before its transaction: the write lock (held by one writer of all
    processes at a time) is not held while the documents are encoded."""

    __slots__ = ("audit", "message_updates", "messages", "notifications", "sessions", "subscriptions")

    def __init__(self, change: Change) -> None:
        self.sessions = [_doc(w.record.data) for w in change.sessions]
        self.messages = [_doc(m) for _, m in change.messages]
        self.message_updates = [_doc(m) for _, m in change.message_updates]
        self.subscriptions = [_doc(sub.data) for sub in change.subscriptions_put]
        self.audit = [_doc(a.details) for a in change.audit]
        self.notifications = [_doc(n.data) for n in change.notifications]


def _write_session(db: Db, w: SessionWrite, doc: str) -> None:
    r, expected_version, stored = w.record, w.expected_version, w.stored
    values = {
        "id": r.id,
        "version": r.version,
        "is_open": r.is_open,
        "waiting": r.waiting,
        "queue": r.queue,
        "customer": r.customer,
        "business": r.business,
        "created_ms": r.created_ms,
        "updated_ms": r.updated_ms,
        "queued_ms": r.queued_ms,
        "deadline_ms": r.deadline_ms,
        "data": doc,
    }
    m = r.milestones
    values["agent_id"] = m.agent_id
    values["offered_ms"] = m.offered_ms
    values["accepted_ms"] = m.accepted_ms
    values["first_reply_ms"] = m.first_reply_ms
    values["reply_wait_ms"] = m.reply_wait_ms
    values["ended_ms"] = m.ended_ms
    values["parties"] = m.parties
    if expected_version is None:
        db.run(_SESSION_INSERT, values)
        stored_members: tuple[frozenset[str], frozenset[str]] | None = (frozenset(), frozenset())
    else:
        values["b_id"] = r.id
        values["b_version"] = expected_version
        unindexed = (
            stored is not None
            and _indexed_values(stored) == _indexed_values(r)
            and stored.milestones == r.milestones  # they are indexed: rarely changed
        )
        if db.run(_SESSION_UPDATE_UNINDEXED if unindexed else _SESSION_UPDATE, values) != 1:
            raise ConcurrentUpdate(f"session {r.id} changed since version {expected_version}")
        stored_members = None if stored is None else (stored.members, stored.load_members)
    if stored_members == (r.members, r.load_members):
        return  # the member rows stored at the expected version are already these
    if not r.members:
        db.run(_MEMBERS_DELETE, {"session_id": r.id})
        return
    members = sorted(r.members)
    keep: dict[str, Any] = {f"u{i}": u for i, u in enumerate(members)}
    keep["session_id"] = r.id
    db.run(_MEMBERS_PRUNE.sized(len(members)), keep)
    db.run_many(
        _MEMBER_UPSERT, [{"session_id": r.id, "user_id": u, "counts": u in r.load_members} for u in members]
    )


def _upsert_agent(db: Db, agent: AgentState) -> None:
    values = {
        "b_user_id": agent.user_id,
        "user_id": agent.user_id,
        "state": agent.state.value,
        "reason": agent.reason,
        "since_ms": agent.since_ms,
        "idle_since_ms": agent.idle_since_ms,
    }
    if not db.run(_AGENT_UPDATE, values):
        db.run(_AGENT_INSERT, values)
