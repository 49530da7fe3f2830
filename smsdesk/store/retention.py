"""Retention and erasure: deleting closed sessions with everything that hangs off them, in small batches
(docs/operations.md, "Retention and erasure"). Each batch is one short write transaction: traffic goes on
between batches. A session's media (inbound pictures) go with it. The full-text index of the transcripts follows by itself (its triggers, or the generated
column). The opt-out list is never touched.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import text

from smsdesk.store.sql import SqlStore
from smsdesk.store.statements import Db, Query, QueryFamily

__all__ = ["Purged", "erase_customer_batch", "open_sessions_of", "purge_events_batch", "purge_sessions_batch"]


def _family(sql: str) -> QueryFamily:
    return QueryFamily(lambda n: text(sql.format(ids=", ".join(f":i{k}" for k in range(n)))))


_DELETE_FOR_SESSIONS = (
    _family("DELETE FROM messages WHERE session_id IN ({ids})"),
    _family("DELETE FROM media WHERE session_id IN ({ids})"),
    _family("DELETE FROM session_members WHERE session_id IN ({ids})"),
    _family("DELETE FROM outbox WHERE session_id IN ({ids}) AND status <> 'pending'"),
    _family("DELETE FROM inbound WHERE session_id IN ({ids})"),
    _family("DELETE FROM sms_sessions WHERE id IN ({ids})"),
)
_CLOSED_BEFORE = Query(
    text(
        "SELECT id FROM sms_sessions s WHERE ended_ms < :cutoff AND NOT is_open"
        " AND NOT EXISTS (SELECT 1 FROM session_members m WHERE m.session_id = s.id) LIMIT :n"
    )
)
# sessions closed before their milestones existed (migration 0002): their last write instead
_LEGACY_CLOSED_BEFORE = Query(
    text(
        "SELECT id FROM sms_sessions s WHERE ended_ms IS NULL AND NOT is_open AND updated_ms < :cutoff"
        " AND NOT EXISTS (SELECT 1 FROM session_members m WHERE m.session_id = s.id) LIMIT :n"
    )
)
_OLD_EVENTS = Query(
    text(
        "DELETE FROM events WHERE id IN (SELECT id FROM events ORDER BY id LIMIT :n) AND created_ms < :cutoff"
    )
)
_OF_CUSTOMER = Query(text("SELECT id FROM sms_sessions WHERE customer = :c AND NOT is_open LIMIT :n"))
_OPEN_OF_CUSTOMER = Query(text("SELECT id FROM sms_sessions WHERE customer = :c AND is_open"))
_OUTBOX_TO = Query(text("DELETE FROM outbox WHERE to_number = :c AND status <> 'pending'"))
_EVENTS_NAMING = Query(
    text(
        "DELETE FROM events WHERE id IN (SELECT id FROM events WHERE CAST(data AS TEXT) LIKE :pattern LIMIT :n)"
    )
)


@dataclass
class Purged:
    sessions: int = 0
    events: int = 0
    outbox: int = 0

    def __iadd__(self, other: Purged) -> Purged:
        self.sessions += other.sessions
        self.events += other.events
        self.outbox += other.outbox
        return self


def _delete_sessions(db: Db, ids: Sequence[str]) -> int:
    if not ids:
        return 0
    params = {f"i{k}": v for k, v in enumerate(ids)}
    for family in _DELETE_FOR_SESSIONS:
        db.run(family.sized(len(ids)), params)
    return len(ids)


def _purge_sessions(db: Db, cutoff: int, n: int) -> int:
    ids = [r[0] for r in db.all(_CLOSED_BEFORE, {"cutoff": cutoff, "n": n})]
    if len(ids) < n:
        ids += [r[0] for r in db.all(_LEGACY_CLOSED_BEFORE, {"cutoff": cutoff, "n": n - len(ids)})]
    return _delete_sessions(db, ids)


async def purge_sessions_batch(store: SqlStore, cutoff_ms: int, batch: int) -> int:
    """Delete up to ``batch`` sessions closed (nobody holds them) before ``cutoff_ms``; how many."""
    return await store.runner.write(_purge_sessions, cutoff_ms, batch)


def _purge_events(db: Db, cutoff: int, n: int) -> int:
    return db.run(_OLD_EVENTS, {"cutoff": cutoff, "n": n})


async def purge_events_batch(store: SqlStore, cutoff_ms: int, batch: int) -> int:
    """Delete notifications older than ``cutoff_ms`` among the ``batch`` oldest; how many."""
    return await store.runner.write(_purge_events, cutoff_ms, batch)


def _open_of(db: Db, customer: str) -> list[str]:
    return [r[0] for r in db.all(_OPEN_OF_CUSTOMER, {"c": customer})]


async def open_sessions_of(store: SqlStore, customer: str) -> list[str]:
    return await store.runner.read_one(_open_of, customer)


def _erase(db: Db, customer: str, n: int) -> Purged:
    out = Purged()
    out.sessions = _delete_sessions(db, [r[0] for r in db.all(_OF_CUSTOMER, {"c": customer, "n": n})])
    if out.sessions < n:  # the sessions are gone: then what else names the number
        out.outbox = db.run(_OUTBOX_TO, {"c": customer})
        out.events = db.run(_EVENTS_NAMING, {"pattern": f'%"{customer}"%', "n": n})
    return out


async def erase_customer_batch(store: SqlStore, customer: str, batch: int) -> Purged:
    """One batch of a customer's erasure: closed sessions first, then outbox rows and notifications that
    name the number. Done when a batch deletes nothing."""
    return await store.runner.write(_erase, customer, batch)
