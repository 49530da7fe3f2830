"""Choosing the agent to offer a session to, and what routing does to agents. Pure: the caller supplies the
candidates' availability, the session, and the time.

Choice: among agents that are Ready and below capacity and not ``busy`` with the session already (they hold
it, or are invited into it), prefer the last agent the customer talked to when ``saveLAR`` recorded one and
that agent is available; otherwise pick the one idle the longest (smallest ``idle_since_ms``; ties by user id
so the choice is deterministic). Agents ``excluded`` for this session (they rejected an offer of it or let one
lapse) are left out only while another agent is available: a session is never stranded behind them
(docs/routing.md).

RONA (redirect on no answer): an offer the router made that lapses costs the agent their Ready state
(``not_responding``), when ``rona_not_ready`` is set. Presence: an agent with no notification client for the
grace is set NotReady (``absent``) and loses what they hold (docs/routing.md).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass

from smsdesk.domain.agents import AgentState, ChannelState
from smsdesk.domain.participants import ParticipantRole, UserState
from smsdesk.domain.sessions import Phase, Session

__all__ = [
    "ABSENT_REASON",
    "NOT_RESPONDING_REASON",
    "Candidate",
    "absent_agents",
    "choose_agent",
    "overflow_due",
    "presence_beat_s",
    "qualified",
    "routed_offer",
    "serving_order",
]

NOT_RESPONDING_REASON = "Not Responding"  # the NotReady reason RONA sets
ABSENT_REASON = "No Client Connected"  # the NotReady reason the presence rule sets


def presence_beat_s(grace_s: float) -> float:
    """How often a node writes its present users: a third of the grace, between 1 and 10 s. A row's time is
    when the user was last *written* present: they may have been there up to one beat later."""
    return min(10.0, max(1.0, grace_s / 3))


@dataclass(frozen=True, slots=True)
class Candidate:
    user_id: str
    ready: bool
    load: int
    capacity: int
    idle_since_ms: int

    @property
    def available(self) -> bool:
        return self.ready and self.load < self.capacity


def choose_agent(
    candidates: Iterable[Candidate],
    *,
    lar_agent_id: str | None = None,
    excluded: Collection[str] = (),
    busy: Collection[str] = (),
    eligible: Callable[[str], bool] | None = None,
) -> str | None:
    """The user id to offer the session to, or None when nobody is available. ``eligible``: the agents who
    may serve the session's queue (``qualified`` for its skills); None: everybody."""
    pool = [
        c
        for c in candidates
        if c.available and c.user_id not in busy and (eligible is None or eligible(c.user_id))
    ]
    fresh = [c for c in pool if c.user_id not in excluded]
    pool = fresh or pool  # the excluded only when nobody else can take it
    if lar_agent_id is not None and any(c.user_id == lar_agent_id for c in pool):
        return lar_agent_id
    if not pool:
        return None
    return min(pool, key=lambda c: (c.idle_since_ms, c.user_id)).user_id


def qualified(skills: Mapping[str, int], required: Mapping[str, int]) -> bool:
    """An agent with ``skills`` (name -> level) may serve a queue asking for ``required``: every skill at
    least at the level asked (a queue asking for nothing is served by everybody)."""
    return all(skills.get(name, -1) >= level for name, level in required.items())


def serving_order(priority: int, queued_ms: int) -> tuple[int, int]:
    """Sort key of waiting sessions: higher-priority queues first, then the longest waiting."""
    return (-priority, queued_ms)


def overflow_due(queued_ms: int, now_ms: int, overflow_after_s: float | None) -> bool:
    """A session queued at ``queued_ms`` has waited longer than its queue's ``overflow_after_s``."""
    return overflow_after_s is not None and now_ms - queued_ms >= int(overflow_after_s * 1000)


def routed_offer(session: Session, user_id: str) -> bool:
    """``user_id`` is Invited into ``session`` by the router (the session's first offer, or a transfer or
    conference to a queue): RONA applies. An invitation to a named agent (consult, transfer to an agent)
    does not: its requester hears that it was not accepted instead."""
    p = session.for_user(user_id)
    if p is None or p.state is not UserState.INVITED or p.is_supervisor:
        return False
    if session.phase is Phase.OFFERED and p.role is ParticipantRole.OWNER:
        return True
    pend = session.pending
    return pend is not None and pend.participant_id == p.participant_id and pend.target_queue is not None


def absent_agents(
    agents: Iterable[AgentState],
    last_seen_ms: Mapping[str, int],
    loads: Mapping[str, int],
    *,
    now_ms: int,
    grace_ms: int,
    watching_since_ms: int,
) -> list[str]:
    """The agents the presence rule acts on now: Ready, or holding sessions (``loads``), and without a
    notification client anywhere for ``grace_ms``. Absence is counted from the latest of: the last time a
    client of theirs was seen (``last_seen_ms``), the moment they became Ready or changed state, and
    ``watching_since_ms`` (when this router began to watch: a router that just took over gives every agent
    the whole grace, their clients' nodes may not have reported yet). ``grace_ms`` 0: nobody."""
    if grace_ms <= 0:
        return []
    gone = []
    for a in agents:
        if a.state is not ChannelState.READY and not loads.get(a.user_id):
            continue
        since = max(last_seen_ms.get(a.user_id, 0), a.since_ms, watching_since_ms)
        if since + grace_ms <= now_ms:
            gone.append(a.user_id)
    return sorted(gone)
