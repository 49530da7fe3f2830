"""PostgreSQL: the rows a write group's bodies write without reading them back, written once at its end.

A write group (``store/pg_runner.py``) runs many changes' bodies in one transaction; each body wrote its
transcript rows, its session's row and its member rows with statements of its own: about ten per session,
most of the statements under load. Here they wait on the ``PostgresDb`` (``messages``, ``sessions``,
``members``) and ``flush`` writes each kind in one statement over ``unnest`` arrays, just before the
counters and the events:

- **sessions**: ``UPDATE … FROM unnest(…) WHERE s.version = the expected one RETURNING id``; a row that did
  not match (another transaction wrote the session meanwhile: the group's claims rule that out, a change
  alone has none) raises ``ConcurrentUpdate``, as the statement of the body did. Two writes of one session in
  a group (the second decided on the first's version) become one row: the second's values over the first's
  expected version; a second one decided on another version fails in its body, as before.
- **members**: the last membership of each session: one ``DELETE`` of the rows no longer there, one upsert.
- **messages**: one ``INSERT``.
- **message updates** (a delivery status on a transcript message), **outbox rows**, **audit entries**: one
  statement each (the outbox's ids in the group's order).
- **agents' idle times** (an agent freed): one ``UPDATE`` in user id order, its row locks held from there to
  the ``COMMIT`` only (they were held from the body on, and agents freed in two groups at once waited on one
  another: 3.5 s of lock waits in an 8 s benchmark step); an agent's row written in full later in the group
  (``agent_written``) drops the idle time waiting, as its statement would have overwritten it.

Nothing inside a write reads these rows back (reads run outside the write transactions), and a failure at
the end (a constraint, a stale version) makes every change of the group run alone, where the failing one
gets its error: the same outcomes as statement by statement.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, cast

from sqlalchemy import JSON, Table
from sqlalchemy.dialects import postgresql

from smsdesk.store import tables as t
from smsdesk.store.base import ConcurrentUpdate, SessionWrite
from smsdesk.store.statements import Db

__all__ = ["LATER", "PgLater", "flush"]

_PG = postgresql.dialect()  # type: ignore[no-untyped-call]


def _columns(table: Table, *, skip: str = "") -> tuple[tuple[str, str], ...]:
    """``(name, PostgreSQL type)`` of ``table``'s columns as ``store/tables.py`` defines them (``json`` for a
    JSON column), ``skip`` left out. Without a length (``varchar``, not ``varchar(32)``): the arrays' cast
    would cut a longer value short, where the column's own check refuses it."""
    return tuple(
        (c.name, "json" if isinstance(c.type, JSON) else c.type.compile(dialect=_PG).lower().split("(")[0])
        for c in table.c
        if c.name != skip
    )


_COLUMNS = _columns(t.sms_sessions)  # a session write sets every column (``commit.write_session``)
_NAMES = tuple(name for name, _ in _COLUMNS)


def _array(kind: str) -> str:
    """The parameter type of a column's array: JSON goes as ``text[]`` and is cast per element (a ``json[]``
    parameter is sent as text, which PostgreSQL's ``array_in`` parses character by character: 6 % of its
    CPU in the benchmark)."""
    return "text[]" if kind == "json" else f"{kind}[]"


def _value(name: str, kind: str, prefix: str = "") -> str:
    return f"{prefix}{name}::json" if kind == "json" else f"{prefix}{name}"


_SESSIONS_SQL = (
    "UPDATE sms_sessions AS s SET "
    + ", ".join(f"{name} = {_value(name, kind, 'u.')}" for name, kind in _COLUMNS if name != "id")
    + " FROM unnest("
    + ", ".join(f"${i + 1}::{_array(kind)}" for i, (_, kind) in enumerate(_COLUMNS))
    + f", ${len(_COLUMNS) + 1}::integer[]) AS u({', '.join(_NAMES)}, b_version)"
    " WHERE s.id = u.id AND s.version = u.b_version RETURNING s.id"
)
_MEMBERS_PRUNE_SQL = (
    "DELETE FROM session_members AS m WHERE m.session_id = ANY($1::varchar[]) AND NOT EXISTS"
    " (SELECT 1 FROM unnest($2::varchar[], $3::varchar[]) AS k(session_id, user_id)"
    " WHERE k.session_id = m.session_id AND k.user_id = m.user_id)"
)
_MEMBERS_UPSERT_SQL = (
    "INSERT INTO session_members (session_id, user_id, counts)"
    " SELECT * FROM unnest($1::varchar[], $2::varchar[], $3::boolean[])"
    " ON CONFLICT (session_id, user_id) DO UPDATE SET counts = excluded.counts"
    " WHERE session_members.counts <> excluded.counts"
)
_MESSAGE_UPDATES_SQL = (
    "UPDATE messages AS m SET data = u.data::json FROM unnest($1::varchar[], $2::integer[], $3::text[])"
    " AS u(session_id, idx, data) WHERE m.session_id = u.session_id AND m.idx = u.idx"
)


class _Insert:
    """A table whose rows a group inserts in one statement: its columns and their types."""

    def __init__(self, table: str, columns: tuple[tuple[str, str], ...]) -> None:
        self.names = tuple(name for name, _ in columns)
        self.sql = (
            f"INSERT INTO {table} ({', '.join(self.names)}) SELECT "
            + ", ".join(_value(name, kind) for name, kind in columns)
            + " FROM unnest("
            + ", ".join(f"${i + 1}::{_array(kind)}" for i, (_, kind) in enumerate(columns))
            + f") AS u({', '.join(self.names)})"
        )


_OUTBOX = _Insert("outbox", _columns(t.outbox, skip="id"))  # the id from its sequence
_AUDIT = _Insert("audit_log", _columns(t.audit_log, skip="id"))
_IDLE_SQL = (
    "UPDATE agents SET idle_since_ms = u.idle_since_ms FROM unnest($1::varchar[], $2::bigint[])"
    " AS u(user_id, idle_since_ms) WHERE agents.user_id = u.user_id"
)
_MESSAGES_SQL = (
    "INSERT INTO messages (session_id, idx, data)"
    " SELECT session_id, idx, data::json FROM unnest($1::varchar[], $2::integer[], $3::text[])"
    " AS u(session_id, idx, data)"
)


class PgLater:
    """What ``commit_txn`` hands these rows to on PostgreSQL (``store/commit.py``, ``Later``); ``db`` is a
    ``PostgresDb``, which holds them."""

    def messages(self, db: Db, rows: Sequence[tuple[str, int, str]]) -> None:
        cast(Any, db).messages.extend(rows)

    def session_update(self, db: Db, values: dict[str, Any], w: SessionWrite) -> None:
        sessions: dict[str, tuple[Mapping[str, Any], int]] = cast(Any, db).sessions
        sid, expected_version = values["id"], w.expected_version
        assert expected_version is not None  # an update
        earlier = sessions.get(sid)
        if earlier is not None:
            if earlier[0]["version"] != expected_version:
                raise ConcurrentUpdate(f"session {sid} changed since version {expected_version}")
            expected_version = earlier[1]  # the last values over the first expected version
        sessions[sid] = (values, expected_version)

    def session_members(
        self, db: Db, session_id: str, members: Sequence[str], counted: frozenset[str]
    ) -> None:
        cast(Any, db).members[session_id] = (members, counted)

    def agent_idle(self, db: Db, user_id: str, idle_since_ms: int) -> None:
        cast(Any, db).idle[user_id] = idle_since_ms

    def agent_written(self, db: Db, user_id: str) -> None:
        cast(Any, db).idle.pop(user_id, None)  # written after it, statement by statement: the row's wins

    def message_update(self, db: Db, session_id: str, index: int, doc: str) -> None:
        cast(Any, db).message_updates[(session_id, index)] = doc  # the last one of a message

    def outbox(self, db: Db, rows: Sequence[Mapping[str, Any]]) -> None:
        cast(Any, db).inserts.extend((_OUTBOX, row) for row in rows)

    def audit(self, db: Db, rows: Sequence[Mapping[str, Any]]) -> None:
        cast(Any, db).inserts.extend((_AUDIT, row) for row in rows)


LATER = PgLater()


def flush(db: Any) -> None:
    """At the end of the transaction, before the counters and the events: the waiting rows, a statement per
    kind."""
    sessions, members, messages = db.sessions, db.members, db.messages
    if sessions:
        db.sessions = {}
        rows = list(sessions.values())
        arrays = [[values[name] for values, _ in rows] for name in _NAMES]
        updated = db.fetch_sql(_SESSIONS_SQL, *arrays, [expected for _, expected in rows])
        if len(updated) != len(rows):
            done = {r[0] for r in updated}
            sid, (_, expected) = next((s, v) for s, v in sessions.items() if s not in done)
            raise ConcurrentUpdate(f"session {sid} changed since version {expected}")
    if members:
        db.members = {}
        ids = list(members)
        keep_sessions = [sid for sid in ids for _ in members[sid][0]]
        keep_users = [u for sid in ids for u in members[sid][0]]
        db.fetch_sql(_MEMBERS_PRUNE_SQL, ids, keep_sessions, keep_users)
        if keep_users:
            counts = [u in members[sid][1] for sid in ids for u in members[sid][0]]
            db.fetch_sql(_MEMBERS_UPSERT_SQL, keep_sessions, keep_users, counts)
    if db.idle:
        idle, db.idle = sorted(db.idle.items()), {}  # in id order, as every group locks them
        db.fetch_sql(_IDLE_SQL, [u for u, _ in idle], [t for _, t in idle])
    updates, inserts = db.message_updates, db.inserts
    if messages:
        db.messages = []
        db.fetch_sql(
            _MESSAGES_SQL, [r[0] for r in messages], [r[1] for r in messages], [r[2] for r in messages]
        )
    if updates:  # after the inserts: a message written and updated in one group
        db.message_updates = {}
        keys = list(updates)
        db.fetch_sql(_MESSAGE_UPDATES_SQL, [k[0] for k in keys], [k[1] for k in keys], list(updates.values()))
    if inserts:
        db.inserts = []
        for table in (_OUTBOX, _AUDIT):  # the outbox's ids follow the group's order
            rows = [row for kind, row in inserts if kind is table]
            if rows:
                db.fetch_sql(table.sql, *([row[name] for row in rows] for name in table.names))
