"""The statistics' reads: the counters kept on commit (``store/counters.py``: per minute and queue, per
quarter hour and agent), the waiting sessions, and what the metrics scrape shows. The same SQL on SQLite and
PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import text

from smsdesk.domain.statistics import MINUTE_MS, AgentMinute, MinuteSums, QueueLive
from smsdesk.store.sql import SqlStore
from smsdesk.store.statements import Db, Query

__all__ = ["MinuteRows", "Operations", "read_live", "read_minutes", "read_operations"]

_QUEUE_MINUTES = Query(
    text(
        "SELECT minute_ms, queue, offered, accepted, accepted_in_sl, wait_ms, completed, handle_ms, abandoned,"
        " replies, reply_wait_ms FROM stat_queue_minutes WHERE minute_ms >= :since AND minute_ms < :until"
    )
)
_AGENT_QUARTERS = Query(
    text(
        "SELECT quarter_ms, agent_id, handled, handle_ms FROM stat_agent_quarters"
        " WHERE quarter_ms >= :since AND quarter_ms < :until"
    )
)
_WAITING = Query(
    text("SELECT queue, count(*), min(queued_ms) FROM sms_sessions WHERE waiting GROUP BY queue")
)

_FAR = 2**62  # "no end"


@dataclass
class MinuteRows:
    """Per-minute sums: minute start (epoch ms) -> queue -> sums, and minute start -> agent id -> sums."""

    queues: dict[int, dict[str, MinuteSums]] = field(default_factory=dict)
    agents: dict[int, dict[str, AgentMinute]] = field(default_factory=dict)

    def queue(self, minute: int, name: str) -> MinuteSums:
        per = self.queues.setdefault(minute, {})
        found = per.get(name)
        if found is None:
            found = per[name] = MinuteSums()
        return found

    def agent(self, minute: int, agent_id: str) -> AgentMinute:
        per = self.agents.setdefault(minute, {})
        found = per.get(agent_id)
        if found is None:
            found = per[agent_id] = AgentMinute()
        return found


def _i(v: Any) -> int:
    return 0 if v is None else int(v)  # PostgreSQL's sum() of bigints is a numeric


def _minutes(db: Db, since: int, until: int) -> MinuteRows:
    out = MinuteRows()
    p = {"since": since, "until": until}
    for minute, queue, *counts in db.all(_QUEUE_MINUTES, p):
        out.queues.setdefault(int(minute), {})[queue] = MinuteSums(*(_i(c) for c in counts))
    for quarter, agent_id, handled, handle in db.all(_AGENT_QUARTERS, p):
        out.agents.setdefault(int(quarter), {})[agent_id] = AgentMinute(_i(handled), _i(handle))
    return out


async def read_minutes(store: SqlStore, since_ms: int, until_ms: int | None = None) -> MinuteRows:
    """The counters of what happened from ``since_ms`` to ``until_ms`` (excluded), whole minutes: per minute
    and queue, and per quarter hour and agent (the quarters starting in the range)."""
    if since_ms % MINUTE_MS or (until_ms is not None and until_ms % MINUTE_MS):
        raise ValueError("read_minutes: the range must be whole minutes")
    until = _FAR if until_ms is None else until_ms
    return await store.runner.read(_minutes, since_ms, until)


def _live(db: Db) -> dict[str, QueueLive]:
    rows: Sequence[Sequence[Any]] = db.all(_WAITING, {"yes": True})
    return {q: QueueLive(_i(n), None if oldest is None else int(oldest)) for q, n, oldest in rows}


async def read_live(store: SqlStore) -> dict[str, QueueLive]:
    """Queue name -> the sessions waiting in it now, and since when the oldest waits."""
    return await store.runner.read_one(_live)


_PHASES = Query(
    text(
        "SELECT waiting, deadline_ms IS NOT NULL, count(*) FROM sms_sessions WHERE is_open"
        " GROUP BY waiting, deadline_ms IS NOT NULL"
    )
)
_AGENT_STATES = Query(text("SELECT state, count(*) FROM agents GROUP BY state"))
_OUTBOX = Query(text("SELECT count(*), min(created_ms) FROM outbox WHERE status = 'pending'"))
_LEASES = Query(text("SELECT name, holder, until_ms FROM leases"))


@dataclass
class Operations:
    """What the store says for the metrics scrape (``smsdesk/api/metrics.py``)."""

    sessions: dict[str, int] = field(default_factory=dict)  # open sessions by phase
    agents: dict[str, int] = field(default_factory=dict)  # agents by channel state
    outbox_pending: int = 0
    outbox_oldest_ms: int | None = None
    leases: list[tuple[str, str, int]] = field(default_factory=list)  # name, holder, until (epoch ms)


def _operations(db: Db) -> Operations:
    out = Operations()
    for waiting, offered, n in db.all(_PHASES):
        phase = "queued" if waiting else "offered" if offered else "active"
        out.sessions[phase] = out.sessions.get(phase, 0) + _i(n)
    out.agents = {state: _i(n) for state, n in db.all(_AGENT_STATES)}
    row = db.first(_OUTBOX)
    if row is not None:
        out.outbox_pending = _i(row[0])
        out.outbox_oldest_ms = None if row[1] is None else int(row[1])
    out.leases = [(name, holder, int(until)) for name, holder, until in db.all(_LEASES)]
    return out


async def read_operations(store: SqlStore) -> Operations:
    return await store.runner.read(_operations)


# Nodes whose clients watch /v2/statistics keep a lease row "statistics-watch:<node>" alive: the publisher
# publishes only while one does (nobody watching, nothing is written).
WATCH_PREFIX = "statistics-watch:"
_WATCHERS = Query(
    text("SELECT count(*) FROM leases WHERE name LIKE 'statistics-watch:%' AND until_ms > :now")
)
_WATCHERS_GONE = Query(text("DELETE FROM leases WHERE name LIKE 'statistics-watch:%' AND until_ms < :before"))


def _watchers(db: Db, now: int) -> int:
    row = db.first(_WATCHERS, {"now": now})
    return 0 if row is None else _i(row[0])


async def count_watchers(store: SqlStore, now_ms: int) -> int:
    return await store.runner.read_one(_watchers, now_ms)


def _forget_watchers(db: Db, before: int) -> int:
    return db.run(_WATCHERS_GONE, {"before": before})


async def forget_watchers(store: SqlStore, before_ms: int) -> int:
    """Delete the watch rows of nodes gone before ``before_ms`` (every restart leaves one)."""
    return await store.runner.write(_forget_watchers, before_ms)
