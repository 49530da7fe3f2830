"""Customer history and transcript search: ``search_sessions`` (docs/operations.md).

Filters on indexed columns (the customer's number with the creation time, the owning agent, the queue), and
full-text search over the conversation's texts: SQLite's FTS5 table ``messages_fts`` or PostgreSQL's
``messages.tsv`` (migration 0002_liveops). Words are matched whole, case-insensitively, all of them
(the same on both engines: FTS5's ``unicode61`` tokens, PostgreSQL's ``simple`` configuration).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, bindparam, or_, select, text
from sqlalchemy.sql import ColumnElement

from smsdesk.store import tables as t
from smsdesk.store.base import SessionRecord
from smsdesk.store.records import session as _session
from smsdesk.store.sql import SqlStore
from smsdesk.store.statements import Db, Query

__all__ = ["SessionSearch", "index_messages", "search_sessions", "search_words"]

_S = t.sms_sessions
_WORD = re.compile(r"\w+", re.UNICODE)
MAX_WORDS = 16


def search_words(q: str) -> list[str]:
    """The words of a search: letters and digits, lower-cased, at most ``MAX_WORDS``."""
    return [w.lower() for w in _WORD.findall(q)][:MAX_WORDS]


@dataclass(frozen=True, slots=True)
class SessionSearch:
    customer: str | None = None
    from_ms: int | None = None  # created at or after
    to_ms: int | None = None  # created before
    queue: str | None = None
    agent_id: str | None = None  # owned (last) by this agent
    words: tuple[str, ...] = ()  # all of them in the conversation's texts
    # an agent's search: only sessions this user took part in, or with one of these customers
    party: str | None = None
    customers: tuple[str, ...] = ()
    offset: int = 0
    limit: int = 20


_FTS_SQLITE = (
    "sms_sessions.id IN (SELECT m.session_id FROM messages m JOIN messages_fts f ON f.rowid = m.rowid"
    " WHERE messages_fts MATCH :fts)"
)
_FTS_POSTGRES = "sms_sessions.id IN (SELECT session_id FROM messages WHERE tsv @@ to_tsquery('simple', :fts))"


def _fts_query(words: Sequence[str], dialect: str) -> str:
    if dialect == "sqlite":
        return " ".join('"' + w.replace('"', '""') + '"' for w in words)  # every word, as a phrase
    return " & ".join("'" + w.replace("'", "''") + "'" for w in words)


def _statement(s: SessionSearch, dialect: str) -> tuple[Query, dict[str, Any]]:
    where: list[ColumnElement[bool]] = []
    params: dict[str, Any] = {"limit": s.limit + 1, "offset": s.offset}
    if s.customer is not None:
        where.append(_S.c.customer == bindparam("customer"))
        params["customer"] = s.customer
    if s.from_ms is not None:
        where.append(_S.c.created_ms >= bindparam("from_ms"))
        params["from_ms"] = s.from_ms
    if s.to_ms is not None:
        where.append(_S.c.created_ms < bindparam("to_ms"))
        params["to_ms"] = s.to_ms
    if s.queue is not None:
        where.append(_S.c.queue == bindparam("queue"))
        params["queue"] = s.queue
    if s.agent_id is not None:
        where.append(_S.c.agent_id == bindparam("agent_id"))
        params["agent_id"] = s.agent_id
    if s.words:
        where.append(text(_FTS_SQLITE if dialect == "sqlite" else _FTS_POSTGRES))  # type: ignore[arg-type]
        params["fts"] = _fts_query(s.words, dialect)
    if s.party is not None:
        mine: list[ColumnElement[bool]] = [_S.c.parties.like(bindparam("party"))]
        params["party"] = f"%,{s.party},%"
        if s.customers:
            mine.append(_S.c.customer.in_([bindparam(f"c{i}") for i in range(len(s.customers))]))
            params.update({f"c{i}": c for i, c in enumerate(s.customers)})
        where.append(or_(*mine))
    stmt = (
        select(_S)
        .where(and_(*where) if where else text("1 = 1"))
        .order_by(_S.c.created_ms.desc(), _S.c.id.desc())
        .limit(bindparam("limit"))
        .offset(bindparam("offset"))
    )
    return Query(stmt), params


def _run(db: Db, q: Query, params: dict[str, Any]) -> list[SessionRecord]:
    return [_session(db, r, set(), set()) for r in db.all(q, params)]


async def search_sessions(store: SqlStore, search: SessionSearch) -> tuple[list[SessionRecord], bool]:
    """The sessions matching ``search``, newest first, and whether more follow ``offset + limit``. The
    records carry no members (a history shows what happened, not who holds the session now)."""
    q, params = _statement(search, store.dialect)
    found = await store.runner.read_one(_run, q, params)
    return found[: search.limit], len(found) > search.limit


# SQLite: new messages enter the full-text index in batches, off the write path (migration 0002_liveops)
_UPTO = Query(text("SELECT upto FROM messages_fts_upto WHERE id = 1"))
_NEW_TEXTS = Query(text("SELECT id, text FROM messages_text WHERE id > :upto ORDER BY id LIMIT :n"))
_FTS_INSERT = Query(text("INSERT INTO messages_fts (rowid, text) VALUES (:id, :text)"))
_SET_UPTO = Query(text("UPDATE messages_fts_upto SET upto = :upto WHERE id = 1"))


def _index(db: Db, n: int) -> int:
    row = db.first(_UPTO)
    upto = int(row[0]) if row else 0
    rows = db.all(_NEW_TEXTS, {"upto": upto, "n": n})
    if not rows:
        return 0
    texts = [{"id": r[0], "text": r[1]} for r in rows if r[1] is not None]
    if texts:
        db.run_many(_FTS_INSERT, texts)
    db.run(_SET_UPTO, {"upto": int(rows[-1][0])})
    return len(rows)


async def index_messages(store: SqlStore, batch: int = 5000) -> int:
    """Index the messages written since the last call (SQLite; PostgreSQL indexes as it writes): how many
    were looked at. One write transaction per batch."""
    if store.dialect != "sqlite":
        return 0
    return await store.runner.write(_index, batch)
