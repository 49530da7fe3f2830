"""Real-time statistics as pure values: per-minute sums of the session milestones, the windows summed from
them, and the wire shapes of ``GET /api/v2/statistics`` and the ``/v2/statistics`` notifications.

The store hands over the counters (``MinuteSums`` per queue and minute, ``AgentMinute`` per agent and quarter
hour); the statistics add them up over today or the last 15 minutes. Every figure is an integer sum until
the view divides, so two processes that read the same rows print the same figures. Definitions and the
[INF] decisions: docs/operations.md.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import datetime, tzinfo
from typing import Any

__all__ = [
    "MINUTE_MS",
    "AgentFigures",
    "AgentMinute",
    "MinuteSums",
    "QueueLive",
    "Snapshot",
    "agent_view",
    "changed_entries",
    "day_start_ms",
    "queue_view",
    "window_view",
]

MINUTE_MS = 60_000


@dataclass(slots=True)
class MinuteSums:
    """What happened in one queue in one minute (or a window: the sum of its minutes)."""

    offered: int = 0  # entered the queue
    accepted: int = 0  # first accepted by an agent
    accepted_in_sl: int = 0  # ... within ``service_level_s`` of being offered
    wait_ms: int = 0  # sum of offered -> accepted over ``accepted``
    completed: int = 0  # ended after an agent had accepted it
    handle_ms: int = 0  # sum of accepted -> ended over ``completed``
    abandoned: int = 0  # ended while waiting (never accepted): closed or opted out
    replies: int = 0  # first agent texts
    reply_wait_ms: int = 0  # sum of the customer's first text -> first agent text over ``replies``

    def add(self, other: MinuteSums) -> None:
        for f in _SUM_FIELDS:
            setattr(self, f, getattr(self, f) + getattr(other, f))


_SUM_FIELDS = tuple(f.name for f in fields(MinuteSums))


@dataclass(slots=True)
class AgentMinute:
    handled: int = 0  # sessions the agent owned that ended after being accepted
    handle_ms: int = 0

    def add(self, other: AgentMinute) -> None:
        self.handled += other.handled
        self.handle_ms += other.handle_ms


@dataclass(frozen=True, slots=True)
class QueueLive:
    waiting: int = 0
    oldest_queued_ms: int | None = None


@dataclass(frozen=True, slots=True)
class AgentFigures:
    id: str
    user_name: str
    state: str  # Ready | NotReady | LoggedOut
    reason: str | None
    since_ms: int
    sessions: int
    capacity: int


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Everything the statistics show, as of ``as_of_ms``: the wire shapes, keyed by queue name and agent id."""

    as_of_ms: int
    queues: Mapping[str, Mapping[str, Any]]
    agents: Mapping[str, Mapping[str, Any]]

    def body(self, *, agent_id: str | None = None) -> dict[str, Any]:
        """``GET /api/v2/statistics``: everything, or (``agent_id``) only that agent's own figures."""
        if agent_id is not None:
            mine = self.agents.get(agent_id)
            return {"statusCode": 0, "queues": [], "agents": [mine] if mine else [], "asOf": self.as_of_ms}
        return {
            "statusCode": 0,
            "queues": [self.queues[q] for q in sorted(self.queues)],
            "agents": [self.agents[a] for a in sorted(self.agents, key=lambda a: self.agents[a]["userName"])],
            "asOf": self.as_of_ms,
        }


def day_start_ms(now_ms: int, zone: tzinfo) -> int:
    """Midnight of ``now_ms``'s day in ``zone``, as epoch ms."""
    local = datetime.fromtimestamp(now_ms / 1000, zone)
    midnight = datetime(local.year, local.month, local.day, tzinfo=zone)
    return int(midnight.timestamp() * 1000)


def _avg_s(total_ms: int, n: int) -> float | None:
    return None if n == 0 else round(total_ms / n / 1000, 1)


def window_view(s: MinuteSums) -> dict[str, Any]:
    known = s.accepted + s.abandoned
    return {
        "offered": s.offered,
        "accepted": s.accepted,
        "completed": s.completed,
        "abandoned": s.abandoned,
        "averageWaitSeconds": _avg_s(s.wait_ms, s.accepted),
        "averageFirstResponseSeconds": _avg_s(s.reply_wait_ms, s.replies),
        "averageHandleSeconds": _avg_s(s.handle_ms, s.completed),
        "serviceLevel": None if known == 0 else round(s.accepted_in_sl / known, 4),
    }


def queue_view(
    name: str,
    live: QueueLive,
    agents: Sequence[AgentFigures],
    today: MinuteSums,
    recent: MinuteSums,
    now_ms: int,
) -> dict[str, Any]:
    """One queue's figures. ``agents``: the agents who serve the queue (today every agent serves every queue)."""
    ready = busy = not_ready = 0
    for a in agents:
        if a.state == "LoggedOut":
            continue
        if a.sessions:
            busy += 1
        elif a.state == "Ready":
            ready += 1
        else:
            not_ready += 1
    oldest = live.oldest_queued_ms
    return {
        "name": name,
        "waiting": live.waiting,
        "longestWaitSeconds": 0 if oldest is None else max(0, (now_ms - oldest) // 1000),
        "oldestWaitingSince": oldest,
        "agentsReady": ready,
        "agentsBusy": busy,
        "agentsNotReady": not_ready,
        "today": window_view(today),
        "last15Minutes": window_view(recent),
    }


def agent_view(a: AgentFigures, today: AgentMinute) -> dict[str, Any]:
    return {
        "id": a.id,
        "userName": a.user_name,
        "state": a.state,
        "reason": a.reason,
        "stateSince": a.since_ms,
        "sessions": a.sessions,
        "capacity": a.capacity,
        "handledToday": today.handled,
        "averageHandleSeconds": _avg_s(today.handle_ms, today.handled),
    }


def changed_entries(
    before: Mapping[str, Mapping[str, Any]], after: Mapping[str, Mapping[str, Any]]
) -> tuple[list[Mapping[str, Any]], list[str]]:
    """The entries of ``after`` that are new or differ from ``before``, and the keys ``after`` dropped."""
    changed = [v for k, v in after.items() if before.get(k) != v]
    return changed, [k for k in before if k not in after]
