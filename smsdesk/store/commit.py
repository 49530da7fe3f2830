"""The write path of the SQL store: a ``Change`` (``store/base.py``) written in one transaction.

The JSON documents of a change are encoded before its transaction (``Docs``); ``commit_txn`` runs the
statements. Notifications become rows of ``events``, written by the engine's ``add_events`` (SQLite:
``insert_events`` below; PostgreSQL: ``engines/postgres.py``, under a lock) so that event ids become visible
in id order and a reader that has passed id N never misses a smaller one.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

from smsdesk.domain.agents import AgentState
from smsdesk.domain.errors import NotFound
from smsdesk.store import queries as q
from smsdesk.store.base import Change, ConcurrentUpdate, ReferenceTaken, SessionRecord, SessionWrite
from smsdesk.store.counters import AddCounters, count_milestones, count_wrap_ups
from smsdesk.store.statements import Db, dump_json

__all__ = [
    "WRITE_NOW",
    "AddEvents",
    "Claims",
    "Docs",
    "Later",
    "TakeReference",
    "WriteNow",
    "commit_txn",
    "insert_events",
    "take_reference",
]

# (db, rows of user_id / channel / data / created_ms) -> the id of the last row
AddEvents = Callable[[Db, Sequence[Mapping[str, Any]]], int]
# (db, user id, the referenceId expected) -> None, or ``ReferenceTaken``: ``take_reference`` below
TakeReference = Callable[[Db, str, int], None]


class Later(Protocol):
    """Where ``commit_txn`` hands the rows nothing in a write reads back: ``WriteNow`` writes them at once
    (SQLite); PostgreSQL's write groups write them at the end of the transaction, one statement per kind
    (``engines/pg_deferred.py``)."""

    def messages(self, db: Db, rows: Sequence[tuple[str, int, str]]) -> None: ...
    def session_update(self, db: Db, values: dict[str, Any], w: SessionWrite) -> None: ...
    def session_members(
        self, db: Db, session_id: str, members: Sequence[str], counted: frozenset[str]
    ) -> None: ...
    def agent_idle(self, db: Db, user_id: str, idle_since_ms: int) -> None: ...
    def agent_written(self, db: Db, user_id: str) -> None: ...
    def message_update(self, db: Db, session_id: str, index: int, doc: str) -> None: ...
    def outbox(self, db: Db, rows: Sequence[Mapping[str, Any]]) -> None: ...
    def audit(self, db: Db, rows: Sequence[Mapping[str, Any]]) -> None: ...


_indexed_values = operator.attrgetter(*(n for n in q.SESSION_INDEXED if n in SessionRecord.__slots__))


def doc(value: Mapping[str, Any]) -> str:
    """A JSON column's text for a mapping (the domain hands read-only mappings too)."""
    return dump_json(value if isinstance(value, dict) else dict(value))


def commit_txn(
    db: Db,
    change: Change,
    docs: Docs,
    add_events: AddEvents,
    service_level_ms: int = 60_000,
    add_counters: AddCounters | None = None,
    take: TakeReference | None = None,
    later: Later | None = None,
) -> int:
    """Write a ``Change`` in the open transaction; return the last event id it wrote (0 when none)."""
    later = later or WRITE_NOW
    now = max([w.record.updated_ms for w in change.sessions] or [0])
    for provider, msg_id, session_id in change.inbound_keys:
        db.run(
            q.INBOUND_INSERT,
            {
                "provider": provider,
                "provider_message_id": msg_id,
                "session_id": session_id,
                "created_ms": now,
            },
        )
    for user_id, expected in change.references:
        (take or take_reference)(db, user_id, expected)
    for w, doc in zip(change.sessions, docs.sessions, strict=True):
        write_session(db, w, doc, later)
    if change.sessions:
        count_milestones(
            db, change.sessions, service_level_ms, add_counters
        )  # statistics (store/counters.py)
    if change.wrap_ups:
        count_wrap_ups(db, change.wrap_ups, add_counters)
    if change.messages:
        rows = [
            (sid, int(msg["index"]), doc)
            for (sid, msg), doc in zip(change.messages, docs.messages, strict=True)
        ]
        later.messages(db, rows)
    for (session_id, msg), doc in zip(change.message_updates, docs.message_updates, strict=True):
        later.message_update(db, session_id, int(msg["index"]), doc)
    for agent in change.agents:
        later.agent_written(db, agent.user_id)  # its row as written now: an idle time waiting is older
        upsert_agent(db, agent)
    for user_id, idle_ms in change.agents_idle:
        later.agent_idle(db, user_id, idle_ms)
    if change.outbound:
        later.outbox(
            db,
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
                    "media_url": o.media_url,
                }
                for o in change.outbound
            ],
        )
    for m in change.media:
        db.run(
            q.MEDIA_INSERT,
            {
                "id": m.id,
                "session_id": m.session_id,
                "content_type": m.content_type,
                "size": len(m.data),
                "data": m.data,
                "created_ms": m.created_ms,
            },
        )
    for outbox_id, provider_message_id in change.outbound_sent:
        db.run(q.OUTBOX_SENT, {"b_id": outbox_id, "pmid": provider_message_id})
    for number, opted_out in change.opt_outs:
        db.run(q.OPT_OUT_DELETE, {"number": number})
        db.run(q.OPT_OUT_INSERT, {"number": number, "opted_out": opted_out, "updated_ms": now})
    for sub, doc in zip(change.subscriptions_put, docs.subscriptions, strict=True):
        key = {"supervisor_id": sub.supervisor_id, "agent_id": sub.agent_id}
        db.run(q.SUB_DELETE, key)
        db.run(q.SUB_INSERT, {**key, "data": doc})
    for supervisor_id, agent_id in change.subscriptions_delete:
        db.run(q.SUB_DELETE, {"supervisor_id": supervisor_id, "agent_id": agent_id})
    if change.audit:
        later.audit(
            db,
            [
                {
                    "actor_id": a.actor_id,
                    "action": a.action,
                    "target_id": a.target_id,
                    "details": doc,
                    "created_ms": a.created_ms,
                }
                for a, doc in zip(change.audit, docs.audit, strict=True)
            ],
        )
    if change.notifications:
        return add_events(
            db,
            [
                {"user_id": n.user_id, "channel": n.channel, "data": doc, "created_ms": now}
                for n, doc in zip(change.notifications, docs.notifications, strict=True)
            ],
        )
    return 0


def insert_events(db: Db, rows: Sequence[Mapping[str, Any]]) -> int:
    """SQLite's ``add_events``: writers are serialised already (one write transaction at a time on a file),
    so ids commit in order without a lock; the last id is the table's highest."""
    db.run_many(q.EVENT_INSERT, rows)
    row = db.first(q.EVENT_LAST)
    return int(row[0]) if row else 0


class Claims:
    """What a change's transaction checks before writing, for a writer that checks a group's changes at once
    (``store/pg_runner.py``): the referenceIds it takes and the session versions it writes over.

    ``references``: (user id, the referenceId expected), as ``take_reference`` checks it; ``sessions``: (id,
    version expected or None for an insert, the version written), as ``write_session`` checks it.
    """

    __slots__ = ("references", "sessions")

    def __init__(self, change: Change) -> None:
        self.references = change.references
        self.sessions = [(w.record.id, w.expected_version, w.record.version) for w in change.sessions]

    def __bool__(self) -> bool:
        return bool(self.references or self.sessions)


class Docs:
    """The JSON texts of a change, encoded before its transaction: the write lock (held by one writer of all
    processes at a time) is not held while the documents are encoded."""

    __slots__ = ("audit", "message_updates", "messages", "notifications", "sessions", "subscriptions")

    def __init__(self, change: Change) -> None:
        self.sessions = [doc(w.record.data) for w in change.sessions]
        self.messages = [doc(m) for _, m in change.messages]
        self.message_updates = [doc(m) for _, m in change.message_updates]
        self.subscriptions = [doc(sub.data) for sub in change.subscriptions_put]
        self.audit = [doc(a.details) for a in change.audit]
        self.notifications = [doc(n.data) for n in change.notifications]


def write_session(db: Db, w: SessionWrite, doc: str, later: Later | None = None) -> None:
    later = later or WRITE_NOW
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
        db.run(q.SESSION_INSERT, values)
        stored_members: tuple[frozenset[str], frozenset[str]] | None = (frozenset(), frozenset())
    else:
        later.session_update(db, values, w)  # its version checked
        stored_members = None if stored is None else (stored.members, stored.load_members)
    if stored_members == (r.members, r.load_members):
        return  # the member rows stored at the expected version are already these
    later.session_members(db, r.id, sorted(r.members), r.load_members)


class WriteNow:
    """``Later`` that writes each row at once, statement by statement (SQLite; any single write)."""

    def messages(self, db: Db, rows: Sequence[tuple[str, int, str]]) -> None:
        db.run_many(q.MESSAGE_INSERT, [{"session_id": s, "idx": i, "data": d} for s, i, d in rows])

    def session_update(self, db: Db, values: dict[str, Any], w: SessionWrite) -> None:
        r, stored = w.record, w.stored
        values["b_id"] = r.id
        values["b_version"] = w.expected_version
        unindexed = (
            stored is not None
            and _indexed_values(stored) == _indexed_values(r)
            and stored.milestones == r.milestones  # they are indexed: rarely changed
        )
        if db.run(q.SESSION_UPDATE_UNINDEXED if unindexed else q.SESSION_UPDATE, values) != 1:
            raise ConcurrentUpdate(f"session {r.id} changed since version {w.expected_version}")

    def session_members(
        self, db: Db, session_id: str, members: Sequence[str], counted: frozenset[str]
    ) -> None:
        if not members:
            db.run(q.MEMBERS_DELETE, {"session_id": session_id})
            return
        keep: dict[str, Any] = {f"u{i}": u for i, u in enumerate(members)}
        keep["session_id"] = session_id
        db.run(q.MEMBERS_PRUNE.sized(len(members)), keep)
        db.run_many(
            q.MEMBER_UPSERT,
            [{"session_id": session_id, "user_id": u, "counts": u in counted} for u in members],
        )

    def agent_idle(self, db: Db, user_id: str, idle_since_ms: int) -> None:
        db.run(q.AGENT_IDLE, {"b_user_id": user_id, "idle_since_ms": idle_since_ms})

    def agent_written(self, db: Db, user_id: str) -> None:
        return None  # nothing waits

    def message_update(self, db: Db, session_id: str, index: int, doc: str) -> None:
        db.run(q.MESSAGE_UPDATE, {"b_session_id": session_id, "b_idx": index, "data": doc})

    def outbox(self, db: Db, rows: Sequence[Mapping[str, Any]]) -> None:
        db.run_many(q.OUTBOX_INSERT, rows)

    def audit(self, db: Db, rows: Sequence[Mapping[str, Any]]) -> None:
        db.run_many(q.AUDIT_INSERT, rows)


WRITE_NOW = WriteNow()


def take_reference(db: Db, user_id: str, expected: int) -> None:
    """The user's next referenceId, which the change was decided with (``expected``), or ``ReferenceTaken``
    with the one it must be (the transaction is then rolled back, and the operation decided again)."""
    if db.run(q.USER_REFERENCE, {"b_id": user_id, "b_before": expected - 1}) == 1:
        return  # the usual case: one conditional UPDATE (cheaper than UPDATE ... RETURNING and a compare)
    row = db.first(q.USER_REFERENCE_NOW, {"b_id": user_id})
    if row is None:
        raise NotFound(f"User {user_id} not found")
    raise ReferenceTaken(user_id, int(row[0]) + 1)


def upsert_agent(db: Db, agent: AgentState) -> None:
    values = {
        "b_user_id": agent.user_id,
        "user_id": agent.user_id,
        "state": agent.state.value,
        "reason": agent.reason,
        "since_ms": agent.since_ms,
        "idle_since_ms": agent.idle_since_ms,
        "work_mode": agent.work_mode,
        "wrap_session_id": agent.wrap_session_id,
        "wrap_until_ms": agent.wrap_until_ms,
    }
    if not db.run(q.AGENT_UPDATE, values):
        db.run(q.AGENT_INSERT, values)
