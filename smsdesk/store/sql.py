"""The SQL store (SQLite via the standard sqlite3 driver on worker threads, PostgreSQL via asyncpg),
implementing ``store.base.Store``.

Each public method is async and runs one sync transaction body (``store/runners.py`` decides how), the
shape Synapse uses: the body is plain SQLAlchemy Core, easy to read and to test. Dialect differences live in
``engines/``.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from typing import Any, TypeVar

from sqlalchemy import and_, delete, func, insert, select, update
from sqlalchemy.engine import Connection, Row
from sqlalchemy.exc import IntegrityError

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
    OutboxRow,
    SessionRecord,
    SubscriptionRow,
)
from smsdesk.store.engines import postgres, sqlite
from smsdesk.store.runners import AsyncRunner, Runner, ThreadRunner

__all__ = ["SqlStore", "create_store"]

T = TypeVar("T")


def create_store(database_url: str) -> SqlStore:
    if database_url.startswith("sqlite"):
        return SqlStore(ThreadRunner(sqlite.create_engine(database_url)), sqlite.lock_for_events)
    if database_url.startswith(("postgresql", "postgres:")):
        return SqlStore(AsyncRunner(postgres.create_engine(database_url)), postgres.lock_for_events)
    raise ValueError(f"unsupported database URL {database_url!r}: use sqlite:///FILE or postgresql://...")


def _user(row: Row[Any]) -> User:
    return User(
        id=row.id,
        user_name=row.user_name,
        password_hash=row.password_hash,
        roles=frozenset(Role(r) for r in row.roles),
        first_name=row.first_name,
        last_name=row.last_name,
        nickname=row.nickname,
        capacity=row.capacity,
        enabled=bool(row.enabled),
        created_ms=row.created_ms,
    )


def _user_values(user: User) -> dict[str, Any]:
    return {
        "id": user.id,
        "user_name": user.user_name,
        "password_hash": user.password_hash,
        "roles": sorted(r.value for r in user.roles),
        "first_name": user.first_name,
        "last_name": user.last_name,
        "nickname": user.nickname,
        "capacity": user.capacity,
        "enabled": user.enabled,
        "created_ms": user.created_ms,
    }


def _session(row: Row[Any], members: tuple[frozenset[str], frozenset[str]]) -> SessionRecord:
    return SessionRecord(
        id=row.id,
        version=row.version,
        is_open=bool(row.is_open),
        waiting=bool(row.waiting),
        queue=row.queue,
        customer=row.customer,
        business=row.business,
        created_ms=row.created_ms,
        updated_ms=row.updated_ms,
        queued_ms=row.queued_ms,
        data=row.data,
        members=members[0],
        deadline_ms=row.deadline_ms,
        load_members=members[1],
    )


def _outbox(row: Row[Any]) -> OutboxRow:
    return OutboxRow(
        id=row.id,
        provider=row.provider,
        from_number=row.from_number,
        to_number=row.to_number,
        text=row.text,
        session_id=row.session_id,
        message_index=row.message_index,
        status=row.status,
        attempts=row.attempts,
        next_attempt_ms=row.next_attempt_ms,
        provider_message_id=row.provider_message_id,
        error=row.error,
        created_ms=row.created_ms,
    )


def _members_of(conn: Connection, ids: Collection[str]) -> dict[str, tuple[frozenset[str], frozenset[str]]]:
    out: dict[str, tuple[set[str], set[str]]] = {i: (set(), set()) for i in ids}
    if ids:
        c = t.session_members.c
        q = select(c.session_id, c.user_id, c.counts).where(c.session_id.in_(list(ids)))
        for sid, uid, counts in conn.execute(q):
            out[sid][0].add(uid)
            if counts:
                out[sid][1].add(uid)
    return {k: (frozenset(v[0]), frozenset(v[1])) for k, v in out.items()}


def _sessions_txn(
    conn: Connection, where: Any, order: Any = None, limit: int | None = None
) -> list[SessionRecord]:
    q = select(t.sms_sessions).where(where)
    if order is not None:
        q = q.order_by(order)
    if limit is not None:
        q = q.limit(limit)
    rows = conn.execute(q).all()
    members = _members_of(conn, [r.id for r in rows])
    return [_session(r, members[r.id]) for r in rows]


class SqlStore:
    def __init__(self, runner: Runner, lock_for_events: Callable[[Connection], None]) -> None:
        self.runner = runner
        self._lock_for_events = lock_for_events

    @property
    def dialect(self) -> str:
        return self.runner.dialect_name

    async def close(self) -> None:
        await self.runner.close()

    async def _read(self, fn: Callable[..., T], *args: Any) -> T:
        return await self.runner.read(fn, *args)

    async def _write(self, fn: Callable[..., T], *args: Any) -> T:
        return await self.runner.write(fn, *args)

    async def run_write(self, fn: Callable[[Connection], T]) -> T:
        """Run ``fn(conn)`` in a write transaction (migrations, maintenance, test fixtures)."""
        return await self.runner.write(fn)

    # ---- schema (tests and `migrate` use Alembic; this is for throwaway databases) ----
    async def create_all(self) -> None:
        await self.run_write(t.metadata.create_all)

    async def drop_all(self) -> None:
        await self.run_write(t.metadata.drop_all)

    # ---- users ----
    async def add_user(self, user: User) -> None:
        def txn(conn: Connection) -> None:
            taken = conn.execute(
                select(t.users.c.id).where(
                    (t.users.c.id == user.id) | (t.users.c.user_name == user.user_name)
                )
            ).first()
            if taken is not None:
                raise AlreadyExists(f"User '{user.user_name}' already exists")
            conn.execute(insert(t.users).values(**_user_values(user)))

        await self._write(txn)

    async def update_user(self, user: User) -> None:
        def txn(conn: Connection) -> None:
            conn.execute(update(t.users).where(t.users.c.id == user.id).values(**_user_values(user)))

        await self._write(txn)

    async def get_user(self, user_id: str) -> User | None:
        def txn(conn: Connection) -> User | None:
            row = conn.execute(select(t.users).where(t.users.c.id == user_id)).first()
            return _user(row) if row else None

        return await self._read(txn)

    async def get_user_by_name(self, user_name: str) -> User | None:
        def txn(conn: Connection) -> User | None:
            row = conn.execute(select(t.users).where(t.users.c.user_name == user_name)).first()
            return _user(row) if row else None

        return await self._read(txn)

    async def list_users(self) -> list[User]:
        def txn(conn: Connection) -> list[User]:
            return [_user(r) for r in conn.execute(select(t.users).order_by(t.users.c.user_name))]

        return await self._read(txn)

    async def delete_user(self, user_id: str) -> bool:
        def txn(conn: Connection) -> bool:
            n = conn.execute(delete(t.users).where(t.users.c.id == user_id)).rowcount
            conn.execute(delete(t.http_sessions).where(t.http_sessions.c.user_id == user_id))
            conn.execute(delete(t.agents).where(t.agents.c.user_id == user_id))
            return bool(n)

        return await self._write(txn)

    # ---- HTTP sessions ----
    async def put_http_session(self, session: HttpSession) -> None:
        def txn(conn: Connection) -> None:
            conn.execute(delete(t.http_sessions).where(t.http_sessions.c.id == session.id))
            conn.execute(
                insert(t.http_sessions).values(
                    id=session.id,
                    user_id=session.user_id,
                    csrf_token=session.csrf_token,
                    created_ms=session.created_ms,
                    expires_ms=session.expires_ms,
                )
            )

        await self._write(txn)

    async def get_http_session(self, session_id: str) -> HttpSession | None:
        def txn(conn: Connection) -> HttpSession | None:
            r = conn.execute(select(t.http_sessions).where(t.http_sessions.c.id == session_id)).first()
            return HttpSession(r.id, r.user_id, r.csrf_token, r.created_ms, r.expires_ms) if r else None

        return await self._read(txn)

    async def delete_http_session(self, session_id: str) -> None:
        def txn(conn: Connection) -> None:
            conn.execute(delete(t.http_sessions).where(t.http_sessions.c.id == session_id))

        await self._write(txn)

    async def delete_expired_http_sessions(self, now_ms: int) -> int:
        def txn(conn: Connection) -> int:
            return int(
                conn.execute(delete(t.http_sessions).where(t.http_sessions.c.expires_ms <= now_ms)).rowcount
            )

        return await self._write(txn)

    # ---- agents ----
    async def get_agent(self, user_id: str) -> AgentState | None:
        def txn(conn: Connection) -> AgentState | None:
            r = conn.execute(select(t.agents).where(t.agents.c.user_id == user_id)).first()
            return _agent(r) if r else None

        return await self._read(txn)

    async def list_agents(self) -> list[AgentState]:
        def txn(conn: Connection) -> list[AgentState]:
            q = select(t.agents).order_by(t.agents.c.idle_since_ms, t.agents.c.user_id)
            return [_agent(r) for r in conn.execute(q)]

        return await self._read(txn)

    async def agent_loads(self) -> dict[str, int]:
        def txn(conn: Connection) -> dict[str, int]:
            c = t.session_members.c
            q = select(c.user_id, func.count()).where(c.counts).group_by(c.user_id)
            return {uid: int(n) for uid, n in conn.execute(q)}

        return await self._read(txn)

    # ---- sessions ----
    async def get_session(self, session_id: str) -> SessionRecord | None:
        def txn(conn: Connection) -> SessionRecord | None:
            found = _sessions_txn(conn, t.sms_sessions.c.id == session_id)
            return found[0] if found else None

        return await self._read(txn)

    async def find_open_session(self, customer: str, business: str) -> SessionRecord | None:
        def txn(conn: Connection) -> SessionRecord | None:
            c = t.sms_sessions.c
            found = _sessions_txn(conn, and_(c.customer == customer, c.business == business, c.is_open))
            return found[0] if found else None

        return await self._read(txn)

    async def list_member_sessions(self, user_id: str) -> list[SessionRecord]:
        def txn(conn: Connection) -> list[SessionRecord]:
            ids = select(t.session_members.c.session_id).where(t.session_members.c.user_id == user_id)
            return _sessions_txn(conn, t.sms_sessions.c.id.in_(ids), t.sms_sessions.c.created_ms)

        return await self._read(txn)

    async def latest_session(self, customer: str, business: str) -> SessionRecord | None:
        def txn(conn: Connection) -> SessionRecord | None:
            c = t.sms_sessions.c
            found = _sessions_txn(
                conn, and_(c.customer == customer, c.business == business), c.created_ms.desc(), 1
            )
            return found[0] if found else None

        return await self._read(txn)

    async def list_waiting_sessions(self, limit: int = 100) -> list[SessionRecord]:
        def txn(conn: Connection) -> list[SessionRecord]:
            c = t.sms_sessions.c
            return _sessions_txn(conn, c.waiting, c.queued_ms, limit)

        return await self._read(txn)

    async def list_due_sessions(self, now_ms: int, limit: int = 100) -> list[SessionRecord]:
        def txn(conn: Connection) -> list[SessionRecord]:
            c = t.sms_sessions.c
            return _sessions_txn(conn, c.deadline_ms <= now_ms, c.deadline_ms, limit)

        return await self._read(txn)

    async def read_messages(
        self, session_id: str, start_index: int = 0, count: int | None = None
    ) -> list[Mapping[str, Any]]:
        def txn(conn: Connection) -> list[Mapping[str, Any]]:
            c = t.messages.c
            q = select(c.data).where(c.session_id == session_id, c.idx >= start_index).order_by(c.idx)
            if count is not None:
                q = q.limit(count)
            return [r.data for r in conn.execute(q)]

        return await self._read(txn)

    # ---- events ----
    async def read_events(self, user_ids: Collection[str], after: int, limit: int) -> list[StoredEvent]:
        users = list(user_ids)
        if not users:
            return []

        def txn(conn: Connection) -> list[StoredEvent]:
            c = t.events.c
            q = select(c.id, c.user_id, c.channel, c.data).where(c.id > after, c.user_id.in_(users))
            rows = conn.execute(q.order_by(c.id).limit(limit))
            return [StoredEvent(r.id, r.user_id, r.channel, r.data) for r in rows]

        return await self._read(txn)

    async def read_all_events(self, after: int, limit: int) -> list[StoredEvent]:
        """Every user's events with ``id > after``: one primary-key range read (the hub filters in memory)."""

        def txn(conn: Connection) -> list[StoredEvent]:
            c = t.events.c
            q = select(c.id, c.user_id, c.channel, c.data).where(c.id > after).order_by(c.id).limit(limit)
            return [StoredEvent(r.id, r.user_id, r.channel, r.data) for r in conn.execute(q)]

        return await self._read(txn)

    async def last_event_id(self) -> int:
        def txn(conn: Connection) -> int:
            return int(conn.execute(select(func.coalesce(func.max(t.events.c.id), 0))).scalar_one())

        return await self._read(txn)

    # ---- inbound and opt-outs ----
    async def get_inbound(self, provider: str, provider_message_id: str) -> tuple[str | None] | None:
        def txn(conn: Connection) -> tuple[str | None] | None:
            c = t.inbound.c
            r = conn.execute(
                select(c.session_id).where(
                    c.provider == provider, c.provider_message_id == provider_message_id
                )
            ).first()
            return (r.session_id,) if r else None

        return await self._read(txn)

    async def is_opted_out(self, number: str) -> bool:
        def txn(conn: Connection) -> bool:
            r = conn.execute(select(t.opt_outs.c.opted_out).where(t.opt_outs.c.number == number)).first()
            return bool(r and r.opted_out)

        return await self._read(txn)

    # ---- outbox ----
    async def claim_outbound(self, now_ms: int, lease_ms: int, limit: int) -> list[OutboxRow]:
        def txn(conn: Connection) -> list[OutboxRow]:
            c = t.outbox.c
            due = and_(c.status == "pending", c.next_attempt_ms <= now_ms, c.lease_until_ms <= now_ms)
            q = select(t.outbox).where(due).order_by(c.id).limit(limit).with_for_update(skip_locked=True)
            rows = conn.execute(q).all()
            claimed = []
            for r in rows:
                n = conn.execute(
                    update(t.outbox)
                    .where(c.id == r.id, c.lease_until_ms == r.lease_until_ms)
                    .values(lease_until_ms=now_ms + lease_ms, attempts=c.attempts + 1)
                ).rowcount
                if n:
                    claimed.append(r.id)
            if not claimed:
                return []
            return [
                _outbox(r) for r in conn.execute(select(t.outbox).where(c.id.in_(claimed)).order_by(c.id))
            ]

        return await self._write(txn)

    async def get_outbound(self, outbox_id: int) -> OutboxRow | None:
        def txn(conn: Connection) -> OutboxRow | None:
            r = conn.execute(select(t.outbox).where(t.outbox.c.id == outbox_id)).first()
            return _outbox(r) if r else None

        return await self._read(txn)

    async def find_outbound_by_provider_id(self, provider: str, provider_message_id: str) -> OutboxRow | None:
        def txn(conn: Connection) -> OutboxRow | None:
            c = t.outbox.c
            r = conn.execute(
                select(t.outbox).where(c.provider == provider, c.provider_message_id == provider_message_id)
            ).first()
            return _outbox(r) if r else None

        return await self._read(txn)

    async def mark_outbound_sent(self, outbox_id: int, provider_message_id: str, now_ms: int) -> None:
        await self._update_outbox(
            outbox_id, status="sent", provider_message_id=provider_message_id, error=None
        )

    async def mark_outbound_retry(self, outbox_id: int, next_attempt_ms: int, error: str) -> None:
        await self._update_outbox(outbox_id, next_attempt_ms=next_attempt_ms, lease_until_ms=0, error=error)

    async def mark_outbound_failed(self, outbox_id: int, error: str) -> None:
        await self._update_outbox(outbox_id, status="failed", error=error)

    async def _update_outbox(self, outbox_id: int, **values: Any) -> None:
        def txn(conn: Connection) -> None:
            conn.execute(update(t.outbox).where(t.outbox.c.id == outbox_id).values(**values))

        await self._write(txn)

    # ---- supervision ----
    async def list_subscriptions(
        self, *, agent_id: str | None = None, supervisor_id: str | None = None
    ) -> list[SubscriptionRow]:
        def txn(conn: Connection) -> list[SubscriptionRow]:
            c = t.subscriptions.c
            q = select(t.subscriptions)
            if agent_id is not None:
                q = q.where(c.agent_id == agent_id)
            if supervisor_id is not None:
                q = q.where(c.supervisor_id == supervisor_id)
            rows = conn.execute(q.order_by(c.supervisor_id, c.agent_id))
            return [SubscriptionRow(r.supervisor_id, r.agent_id, r.data) for r in rows]

        return await self._read(txn)

    async def list_audit(self, limit: int = 100, before_id: int | None = None) -> list[AuditEntry]:
        def txn(conn: Connection) -> list[AuditEntry]:
            c = t.audit_log.c
            q = select(t.audit_log)
            if before_id is not None:
                q = q.where(c.id < before_id)
            rows = conn.execute(q.order_by(c.id.desc()).limit(limit))
            return [
                AuditEntry(r.actor_id, r.action, r.target_id, r.details, r.created_ms, r.id) for r in rows
            ]

        return await self._read(txn)

    # ---- leases ----
    async def acquire_lease(self, name: str, holder: str, now_ms: int, ttl_ms: int) -> bool:
        def txn(conn: Connection) -> bool:
            c = t.leases.c
            row = conn.execute(select(c.holder, c.until_ms).where(c.name == name)).first()
            if row is None:
                conn.execute(insert(t.leases).values(name=name, holder=holder, until_ms=now_ms + ttl_ms))
                return True
            if row.holder != holder and row.until_ms > now_ms:
                return False
            n = conn.execute(
                update(t.leases)
                .where(c.name == name, c.holder == row.holder, c.until_ms == row.until_ms)
                .values(holder=holder, until_ms=now_ms + ttl_ms)
            ).rowcount
            return bool(n)

        try:
            return await self._write(txn)
        except IntegrityError:
            return False  # another node inserted it first

    # ---- the write path ----
    async def commit(self, change: Change) -> int:
        try:
            return await self._write(self._commit_txn, change)
        except IntegrityError as exc:
            if change.inbound_keys and "inbound" in str(exc.orig).lower():
                raise AlreadyExists("This provider message was already received") from exc
            raise ConcurrentUpdate(str(exc.orig)) from exc

    def _commit_txn(self, conn: Connection, change: Change) -> int:
        now = max([w.record.updated_ms for w in change.sessions] or [0])
        for provider, msg_id, session_id in change.inbound_keys:
            conn.execute(
                insert(t.inbound).values(
                    provider=provider, provider_message_id=msg_id, session_id=session_id, created_ms=now
                )
            )
        for w in change.sessions:
            _write_session(conn, w.record, w.expected_version)
        for session_id, msg in change.messages:
            conn.execute(
                insert(t.messages).values(session_id=session_id, idx=int(msg["index"]), data=dict(msg))
            )
        for session_id, msg in change.message_updates:
            c = t.messages.c
            conn.execute(
                update(t.messages)
                .where(c.session_id == session_id, c.idx == int(msg["index"]))
                .values(data=dict(msg))
            )
        for agent in change.agents:
            _upsert_agent(conn, agent)
        for user_id, idle_ms in change.agents_idle:
            conn.execute(update(t.agents).where(t.agents.c.user_id == user_id).values(idle_since_ms=idle_ms))
        for o in change.outbound:
            conn.execute(
                insert(t.outbox).values(
                    provider=o.provider,
                    from_number=o.from_number,
                    to_number=o.to_number,
                    text=o.text,
                    session_id=o.session_id,
                    message_index=o.message_index,
                    status="pending",
                    attempts=0,
                    next_attempt_ms=0,
                    lease_until_ms=0,
                    created_ms=now,
                )
            )
        for number, opted_out in change.opt_outs:
            conn.execute(delete(t.opt_outs).where(t.opt_outs.c.number == number))
            conn.execute(insert(t.opt_outs).values(number=number, opted_out=opted_out, updated_ms=now))
        for sub in change.subscriptions_put:
            c2 = t.subscriptions.c
            conn.execute(
                delete(t.subscriptions).where(
                    c2.supervisor_id == sub.supervisor_id, c2.agent_id == sub.agent_id
                )
            )
            conn.execute(
                insert(t.subscriptions).values(
                    supervisor_id=sub.supervisor_id, agent_id=sub.agent_id, data=dict(sub.data)
                )
            )
        for supervisor_id, agent_id in change.subscriptions_delete:
            c2 = t.subscriptions.c
            conn.execute(
                delete(t.subscriptions).where(c2.supervisor_id == supervisor_id, c2.agent_id == agent_id)
            )
        for a in change.audit:
            conn.execute(
                insert(t.audit_log).values(
                    actor_id=a.actor_id,
                    action=a.action,
                    target_id=a.target_id,
                    details=dict(a.details),
                    created_ms=a.created_ms,
                )
            )
        if change.notifications:
            self._lock_for_events(conn)
            conn.execute(
                insert(t.events),
                [
                    {"user_id": n.user_id, "channel": n.channel, "data": dict(n.data), "created_ms": now}
                    for n in change.notifications
                ],
            )
            return int(conn.execute(select(func.max(t.events.c.id))).scalar_one())
        return 0


def _write_session(conn: Connection, r: SessionRecord, expected_version: int | None) -> None:
    values = {
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
        "data": dict(r.data),
    }
    if expected_version is None:
        conn.execute(insert(t.sms_sessions).values(id=r.id, **values))
    else:
        c = t.sms_sessions.c
        n = conn.execute(
            update(t.sms_sessions).where(c.id == r.id, c.version == expected_version).values(**values)
        ).rowcount
        if n != 1:
            raise ConcurrentUpdate(f"session {r.id} changed since version {expected_version}")
    conn.execute(delete(t.session_members).where(t.session_members.c.session_id == r.id))
    if r.members:
        rows = [{"session_id": r.id, "user_id": u, "counts": u in r.load_members} for u in sorted(r.members)]
        conn.execute(insert(t.session_members), rows)


def _agent(row: Row[Any]) -> AgentState:
    return AgentState(
        user_id=row.user_id,
        state=ChannelState(row.state),
        reason=row.reason,
        since_ms=row.since_ms,
        idle_since_ms=row.idle_since_ms,
    )


def _upsert_agent(conn: Connection, agent: AgentState) -> None:
    values = {
        "state": agent.state.value,
        "reason": agent.reason,
        "since_ms": agent.since_ms,
        "idle_since_ms": agent.idle_since_ms,
    }
    n = conn.execute(update(t.agents).where(t.agents.c.user_id == agent.user_id).values(**values)).rowcount
    if not n:
        conn.execute(insert(t.agents).values(user_id=agent.user_id, **values))
