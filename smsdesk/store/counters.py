"""Statistics counters kept on commit (docs/operations.md, "Where the figures come from").

``count_milestones`` runs inside ``Store.commit``'s transaction: for each session write, the milestones
this write reached (set now, unset in the stored version) are added to the per-minute queue counters
(``stat_queue_minutes``) and the per-quarter-hour agent counters (``stat_agent_quarters``, quarter hours
because every time zone's midnight is on one). Most writes reach none: then nothing is written. A write that
reaches some adds one upsert per table (``executemany`` of its rows, in key order: ``write_counters``).

``count_wrap_ups`` adds the length of each wrap-up that ended (``Change.wrap_ups``) to the handle time of
the wrapped-up session's queue and of its agent, in the minute (quarter) the wrap-up ended: after-call work
is handle time (docs/operations.md). It adds to no count: the session was counted when it ended.

The counter rows are few and hot (every session of a queue in a minute adds to one row), so on PostgreSQL,
where several transactions write at once, the engine adds them up over a whole group of writes and upserts
them once, at the end of the transaction, in key order (``engines/postgres.py``, ``add_counters``): a row
lock is held only from there to the COMMIT, and two transactions take them in the same order (before, they
deadlocked, and each waited up to ``deadlock_timeout`` for the other).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from sqlalchemy import text

from smsdesk.store.base import NO_MILESTONES, Milestones, SessionWrite, WrapUpTime
from smsdesk.store.statements import Db, Query

__all__ = [
    "QUARTER_MS",
    "AddCounters",
    "Counts",
    "count_milestones",
    "count_wrap_ups",
    "merge_counts",
    "write_counters",
]

MINUTE_MS = 60_000
QUARTER_MS = 900_000
_Q_FIELDS = (
    "offered",
    "accepted",
    "accepted_in_sl",
    "wait_ms",
    "completed",
    "handle_ms",
    "abandoned",
    "replies",
    "reply_wait_ms",
)
_UPSERT_QUEUE = Query(
    text(
        "INSERT INTO stat_queue_minutes (minute_ms, queue, "
        + ", ".join(_Q_FIELDS)
        + ") VALUES (:minute_ms, :queue, "
        + ", ".join(f":{f}" for f in _Q_FIELDS)
        + ") ON CONFLICT (minute_ms, queue) DO UPDATE SET "
        + ", ".join(f"{f} = stat_queue_minutes.{f} + excluded.{f}" for f in _Q_FIELDS)
    )
)
_UPSERT_AGENT = Query(
    text(
        "INSERT INTO stat_agent_quarters (quarter_ms, agent_id, handled, handle_ms)"
        " VALUES (:quarter_ms, :agent_id, :handled, :handle_ms)"
        " ON CONFLICT (quarter_ms, agent_id) DO UPDATE SET"
        " handled = stat_agent_quarters.handled + excluded.handled,"
        " handle_ms = stat_agent_quarters.handle_ms + excluded.handle_ms"
    )
)


def _queue_row(rows: dict[tuple[int, str], dict[str, int]], at: int, queue: str) -> dict[str, int]:
    key = (at - at % MINUTE_MS, queue)
    row = rows.get(key)
    if row is None:
        row = rows[key] = dict.fromkeys(_Q_FIELDS, 0)
    return row


class Counts:
    """Counter increments: per (minute, queue) the queue fields, per (quarter hour, agent) handled and handle_ms."""

    __slots__ = ("agents", "queues")

    def __init__(self) -> None:
        self.queues: dict[tuple[int, str], dict[str, int]] = {}
        self.agents: dict[tuple[int, str], list[int]] = {}

    def __bool__(self) -> bool:
        return bool(self.queues or self.agents)


# (db, increments) -> None: ``write_counters`` (at once) or the PostgreSQL engine's ``add_counters`` (deferred)
AddCounters = Callable[[Db, Counts], None]


def count_milestones(
    db: Db, writes: Sequence[SessionWrite], service_level_ms: int, add: AddCounters | None = None
) -> None:
    reached = Counts()
    queues, agents = reached.queues, reached.agents
    for w in writes:
        m = w.record.milestones
        if m is NO_MILESTONES:
            continue
        before = w.stored.milestones if w.stored is not None else NO_MILESTONES
        if m == before or m.offered_ms is None:
            continue
        if w.stored is None and w.expected_version is not None:
            before = _reached_before(m, w.record.updated_ms)  # not read: what this write did not stamp
        queue = w.record.queue
        if before.offered_ms is None:
            _queue_row(queues, m.offered_ms, queue)["offered"] += 1
        if m.accepted_ms is not None and before.accepted_ms is None:
            row = _queue_row(queues, m.accepted_ms, queue)
            wait = m.accepted_ms - m.offered_ms
            row["accepted"] += 1
            row["wait_ms"] += wait
            row["accepted_in_sl"] += wait <= service_level_ms
        if m.first_reply_ms is not None and before.first_reply_ms is None:
            row = _queue_row(queues, m.first_reply_ms, queue)
            row["replies"] += 1
            row["reply_wait_ms"] += m.reply_wait_ms or 0
        if m.ended_ms is not None and before.ended_ms is None:
            row = _queue_row(queues, m.ended_ms, queue)
            if m.accepted_ms is None:
                row["abandoned"] += 1
            else:
                handle = m.ended_ms - m.accepted_ms
                row["completed"] += 1
                row["handle_ms"] += handle
                if m.agent_id is not None:
                    key = (m.ended_ms - m.ended_ms % QUARTER_MS, m.agent_id)
                    counts = agents.setdefault(key, [0, 0])
                    counts[0] += 1
                    counts[1] += handle
    if reached:
        (add or write_counters)(db, reached)


def count_wrap_ups(db: Db, wrap_ups: Sequence[WrapUpTime], add: AddCounters | None = None) -> None:
    reached = Counts()
    for w in wrap_ups:
        if w.wrap_ms <= 0:
            continue
        if w.queue is not None:
            _queue_row(reached.queues, w.ended_ms, w.queue)["handle_ms"] += w.wrap_ms
        reached.agents.setdefault((w.ended_ms - w.ended_ms % QUARTER_MS, w.agent_id), [0, 0])[1] += w.wrap_ms
    if reached:
        (add or write_counters)(db, reached)


def merge_counts(into: Counts, counts: Counts) -> None:
    """Add ``counts`` to ``into``."""
    for key, fields in counts.queues.items():
        row = into.queues.get(key)
        if row is None:
            into.queues[key] = dict(fields)
        else:
            for name, n in fields.items():
                row[name] += n
    for key, (handled, handle_ms) in counts.agents.items():
        pair = into.agents.setdefault(key, [0, 0])
        pair[0] += handled
        pair[1] += handle_ms


def write_counters(db: Db, counts: Counts) -> None:
    """The upserts of ``counts``, one ``executemany`` per table, rows in key order (the order row locks are
    taken in, the same in every transaction)."""
    if counts.queues:
        db.run_many(
            _UPSERT_QUEUE,
            [{"minute_ms": k[0], "queue": k[1], **counts.queues[k]} for k in sorted(counts.queues)],
        )
    if counts.agents:
        db.run_many(
            _UPSERT_AGENT,
            [
                {"quarter_ms": k[0], "agent_id": k[1], "handled": v[0], "handle_ms": v[1]}
                for k, v in sorted(counts.agents.items())
            ],
        )


def _reached_before(m: Milestones, now_ms: int) -> Milestones:
    """The milestones as they were before a write at ``now_ms`` (it stamps the ones it reaches with it)."""

    def kept(v: int | None) -> int | None:
        return None if v == now_ms else v

    return Milestones(
        m.agent_id,
        kept(m.offered_ms),
        kept(m.accepted_ms),
        kept(m.first_reply_ms),
        m.reply_wait_ms,
        kept(m.ended_ms),
        m.parties,
    )
