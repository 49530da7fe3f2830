"""The statements of the SQL store, built once at import with named ``bindparam``s (``store/statements.py``
compiles each once per dialect).

Columns of ``select(table)`` come in the table's column order (``tables.py``): the row mappers in
``store/records.py`` read them by position.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import and_, bindparam, delete, func, insert, or_, select, text, update
from sqlalchemy.sql import ColumnElement
from sqlalchemy.sql.expression import Select

from smsdesk.store import tables as t
from smsdesk.store.statements import Query, QueryFamily


def _p(name: str) -> Any:
    return bindparam(name)


_U, _H, _A, _S, _M = t.users, t.http_sessions, t.agents, t.sms_sessions, t.session_members
_MSG, _E, _O, _IN, _OPT = t.messages, t.events, t.outbox, t.inbound, t.opt_outs
_SUB, _L, _AUD = t.subscriptions, t.leases, t.audit_log

USER_TAKEN = Query(select(_U.c.id).where(or_(_U.c.id == _p("id"), _U.c.user_name == _p("user_name"))))
# ``reference_id`` is the store's alone: a user's insert and update never write it (``USER_REFERENCE``)
USER_INSERT = Query(insert(_U).values({c.name: _p(c.name) for c in _U.c if c.name != "reference_id"}))
USER_UPDATE = Query(
    update(_U)
    .where(_U.c.id == _p("b_id"))
    .values({c.name: _p(c.name) for c in _U.c if c.name not in ("id", "reference_id")})
)
# the next referenceId taken only when it is the one expected (``b_before`` + 1): a row count, no RETURNING
USER_REFERENCE = Query(
    update(_U)
    .where(_U.c.id == _p("b_id"), _U.c.reference_id == _p("b_before"))
    .values(reference_id=_U.c.reference_id + 1)
)
USER_REFERENCE_NOW = Query(select(_U.c.reference_id).where(_U.c.id == _p("b_id")))
# a block of ``b_count`` referenceIds at once (``SqlStore.reserve_references``): the last one comes back
USER_RESERVE_REFERENCES = Query(
    update(_U)
    .where(_U.c.id == _p("b_id"))
    .values(reference_id=_U.c.reference_id + _p("b_count"))
    .returning(_U.c.reference_id)
)
USER_BY_ID = Query(select(_U).where(_U.c.id == _p("id")))
USER_BY_NAME = Query(select(_U).where(_U.c.user_name == _p("user_name")))
USERS = Query(select(_U).order_by(_U.c.user_name))
USER_DELETE = Query(delete(_U).where(_U.c.id == _p("id")))
USER_HTTP_DELETE = Query(delete(_H).where(_H.c.user_id == _p("id")))
USER_AGENT_DELETE = Query(delete(_A).where(_A.c.user_id == _p("id")))

HTTP_DELETE = Query(delete(_H).where(_H.c.id == _p("id")))
HTTP_INSERT = Query(insert(_H).values({c.name: _p(c.name) for c in _H.c}))
HTTP_GET = Query(select(_H).where(_H.c.id == _p("id")))
# a session and its user in one statement (a request's cookie that the process has not seen lately)
HTTP_WITH_USER = Query(
    select(*_H.c, *_U.c).join_from(_H, _U, _U.c.id == _H.c.user_id).where(_H.c.id == _p("id"))
)
HTTP_EXPIRE = Query(delete(_H).where(_H.c.expires_ms <= _p("now")))

AGENT_GET = Query(select(_A).where(_A.c.user_id == _p("user_id")))
AGENTS = Query(select(_A).order_by(_A.c.idle_since_ms, _A.c.user_id))
AGENTS_CHANGED = Query(
    select(_A).where(or_(_A.c.since_ms >= _p("since"), _A.c.idle_since_ms >= _p("idle_since")))
)
AGENT_UPDATE = Query(
    update(_A)
    .where(_A.c.user_id == _p("b_user_id"))
    .values({c.name: _p(c.name) for c in _A.c if c.name != "user_id"})
)
AGENT_INSERT = Query(insert(_A).values({c.name: _p(c.name) for c in _A.c}))
AGENT_IDLE = Query(
    update(_A).where(_A.c.user_id == _p("b_user_id")).values(idle_since_ms=_p("idle_since_ms"))
)
LOADS = Query(select(_M.c.user_id, func.count()).where(_M.c.counts).group_by(_M.c.user_id))

SESSION_INSERT = Query(insert(_S).values({c.name: _p(c.name) for c in _S.c}))
SESSION_UPDATE = Query(
    update(_S)
    .where(_S.c.id == _p("b_id"), _S.c.version == _p("b_version"))
    .values({c.name: _p(c.name) for c in _S.c if c.name != "id"})
)
# The columns an index of sms_sessions holds, or filters on (the partial unique index's ``is_open``). An
# UPDATE that sets one of them rewrites that index's entry even when the value is the same (SQLite decides by
# the columns set): most session writes (a message, a receipt, a supervisor joining a chat under way) leave
# them as they were, and set only the others. A join at Accept rides on the Accept's write, which sets them.
SESSION_INDEXED = tuple(sorted({c.name for ix in _S.indexes for c in ix.columns} | {"is_open"}))
SESSION_UPDATE_UNINDEXED = Query(
    update(_S)
    .where(_S.c.id == _p("b_id"), _S.c.version == _p("b_version"))
    .values({c.name: _p(c.name) for c in _S.c if c.name != "id" and c.name not in SESSION_INDEXED})
)
MEMBERS_DELETE = Query(delete(_M).where(_M.c.session_id == _p("session_id")))
# a session's members are pruned and upserted, so that an unchanged member's row is not written again (most
# session writes leave the members as they were): the same SQL on SQLite and PostgreSQL
MEMBERS_PRUNE = QueryFamily(
    lambda n: delete(_M).where(
        _M.c.session_id == _p("session_id"), _M.c.user_id.not_in([_p(f"u{i}") for i in range(n)])
    )
)
MEMBER_UPSERT = Query(
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


SESSION_BY_ID = _sessions_query(_S.c.id == _p("id"))
SESSION_OPEN = _sessions_query(
    and_(_S.c.customer == _p("customer"), _S.c.business == _p("business"), _S.c.is_open)
)
SESSIONS_OF_MEMBER = _sessions_query(
    _S.c.id.in_(select(_M.c.session_id).where(_M.c.user_id == _p("user_id"))), [("created_ms", False)]
)
SESSION_LATEST = _sessions_query(
    and_(_S.c.customer == _p("customer"), _S.c.business == _p("business")), [("created_ms", True)], True
)
SESSIONS_WAITING = _sessions_query(_S.c.waiting, [("queued_ms", False)], True)
SESSIONS_DUE = _sessions_query(_S.c.deadline_ms <= _p("now"), [("deadline_ms", False)], True)

_MESSAGES_FROM = select(_MSG.c.data).where(_MSG.c.session_id == _p("session_id"), _MSG.c.idx >= _p("start"))
MESSAGES = Query(_MESSAGES_FROM.order_by(_MSG.c.idx))
MESSAGES_SLICE = Query(_MESSAGES_FROM.order_by(_MSG.c.idx).limit(_p("count")))
MESSAGE_INSERT = Query(insert(_MSG).values({c.name: _p(c.name) for c in _MSG.c}))
MESSAGE_UPDATE = Query(
    update(_MSG)
    .where(_MSG.c.session_id == _p("b_session_id"), _MSG.c.idx == _p("b_idx"))
    .values(data=_p("data"))
)

_EVENT_COLS = (_E.c.id, _E.c.user_id, _E.c.channel, _E.c.data)
EVENTS_OF = QueryFamily(
    lambda n: (
        select(*_EVENT_COLS)
        .where(_E.c.id > _p("after"), _E.c.user_id.in_([_p(f"u{i}") for i in range(n)]))
        .order_by(_E.c.id)
        .limit(_p("limit"))
    )
)
EVENTS_ALL = Query(select(*_EVENT_COLS).where(_E.c.id > _p("after")).order_by(_E.c.id).limit(_p("limit")))
EVENT_LAST = Query(select(func.coalesce(func.max(_E.c.id), 0)))
EVENT_INSERT = Query(insert(_E).values({c.name: _p(c.name) for c in _E.c if c.name != "id"}))

INBOUND_GET = Query(
    select(_IN.c.session_id).where(
        _IN.c.provider == _p("provider"), _IN.c.provider_message_id == _p("msg_id")
    )
)
INBOUND_INSERT = Query(insert(_IN).values({c.name: _p(c.name) for c in _IN.c}))
OPTED_OUT = Query(select(_OPT.c.opted_out).where(_OPT.c.number == _p("number")))
OPT_OUT_DELETE = Query(delete(_OPT).where(_OPT.c.number == _p("number")))
OPT_OUT_INSERT = Query(insert(_OPT).values({c.name: _p(c.name) for c in _OPT.c}))

OUTBOX_DUE = Query(
    select(_O.c.id, _O.c.lease_until_ms)
    .where(_O.c.status == "pending", _O.c.next_attempt_ms <= _p("now"), _O.c.lease_until_ms <= _p("now"))
    .order_by(_O.c.id)
    .limit(_p("limit"))
    .with_for_update(skip_locked=True)
)
OUTBOX_LEASE = Query(
    update(_O)
    .where(_O.c.id == _p("b_id"), _O.c.lease_until_ms == _p("b_lease"))
    .values(lease_until_ms=_p("lease_until_ms"), attempts=_O.c.attempts + 1)
)
OUTBOX_IN = QueryFamily(
    lambda n: select(_O).where(_O.c.id.in_([_p(f"i{i}") for i in range(n)])).order_by(_O.c.id)
)
# PostgreSQL: the due rows leased and read in one statement (SQLite: OUTBOX_DUE, OUTBOX_LEASE, OUTBOX_IN)
OUTBOX_CLAIM = Query(
    text(
        "UPDATE outbox SET lease_until_ms = :lease_until_ms, attempts = outbox.attempts + 1 WHERE id IN"
        " (SELECT id FROM outbox WHERE status = 'pending' AND next_attempt_ms <= :now AND lease_until_ms <= :now"
        " ORDER BY id LIMIT :limit FOR UPDATE SKIP LOCKED) RETURNING "
        + ", ".join(f"outbox.{c.name}" for c in _O.c)
    )
)
OUTBOX_GET = Query(select(_O).where(_O.c.id == _p("id")))
OUTBOX_BY_PROVIDER_ID = Query(
    select(_O).where(_O.c.provider == _p("provider"), _O.c.provider_message_id == _p("msg_id")).limit(1)
)
OUTBOX_INSERT = Query(insert(_O).values({c.name: _p(c.name) for c in _O.c if c.name != "id"}))
OUTBOX_SENT = Query(
    update(_O).where(_O.c.id == _p("b_id")).values(status="sent", provider_message_id=_p("pmid"), error=None)
)
OUTBOX_RETRY = Query(
    update(_O)
    .where(_O.c.id == _p("b_id"))
    .values(next_attempt_ms=_p("next"), lease_until_ms=0, error=_p("error"))
)
OUTBOX_FAILED = Query(update(_O).where(_O.c.id == _p("b_id")).values(status="failed", error=_p("error")))

_SUBS_ORDER = (_SUB.c.supervisor_id, _SUB.c.agent_id)
SUBS = Query(select(_SUB).order_by(*_SUBS_ORDER))
SUBS_OF_AGENT = Query(select(_SUB).where(_SUB.c.agent_id == _p("agent_id")).order_by(*_SUBS_ORDER))
SUBS_OF_SUPERVISOR = Query(
    select(_SUB).where(_SUB.c.supervisor_id == _p("supervisor_id")).order_by(*_SUBS_ORDER)
)
SUB_ONE = Query(
    select(_SUB)
    .where(_SUB.c.agent_id == _p("agent_id"), _SUB.c.supervisor_id == _p("supervisor_id"))
    .order_by(*_SUBS_ORDER)
)
SUB_DELETE = Query(
    delete(_SUB).where(_SUB.c.supervisor_id == _p("supervisor_id"), _SUB.c.agent_id == _p("agent_id"))
)
SUB_INSERT = Query(insert(_SUB).values({c.name: _p(c.name) for c in _SUB.c}))

AUDIT = Query(select(_AUD).order_by(_AUD.c.id.desc()).limit(_p("limit")))
AUDIT_BEFORE = Query(
    select(_AUD).where(_AUD.c.id < _p("before")).order_by(_AUD.c.id.desc()).limit(_p("limit"))
)
AUDIT_INSERT = Query(insert(_AUD).values({c.name: _p(c.name) for c in _AUD.c if c.name != "id"}))

LEASE_GET = Query(select(_L.c.holder, _L.c.until_ms).where(_L.c.name == _p("name")))
LEASE_INSERT = Query(insert(_L).values({c.name: _p(c.name) for c in _L.c}))
LEASE_TAKE = Query(
    update(_L)
    .where(_L.c.name == _p("b_name"), _L.c.holder == _p("b_holder"), _L.c.until_ms == _p("b_until"))
    .values(holder=_p("holder"), until_ms=_p("until_ms"))
)

# mms (docs/api.md, "Media"): the bytes of inbound media, written with their message
MEDIA_INSERT = Query(insert(t.media).values({c.name: _p(c.name) for c in t.media.c}))
MEDIA_GET = Query(
    select(
        t.media.c.id, t.media.c.session_id, t.media.c.content_type, t.media.c.data, t.media.c.created_ms
    ).where(t.media.c.id == _p("id"))
)
