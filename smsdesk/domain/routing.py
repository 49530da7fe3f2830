"""Choosing the agent to offer a session to. Pure: the caller supplies the candidates' availability.

Policy: among agents that are Ready and below capacity, and not excluded for this offer round (they rejected
or let the offer time out), prefer the last agent the customer talked to when ``saveLAR`` recorded one and
that agent is available; otherwise pick the one idle the longest (smallest ``idle_since_ms``; ties by user id
so the choice is deterministic).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass

__all__ = ["Candidate", "choose_agent"]


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
    candidates: Iterable[Candidate], *, lar_agent_id: str | None = None, excluded: Collection[str] = ()
) -> str | None:
    """The user id to offer the session to, or None when nobody is available."""
    pool = [c for c in candidates if c.available and c.user_id not in excluded]
    if lar_agent_id is not None and any(c.user_id == lar_agent_id for c in pool):
        return lar_agent_id
    if not pool:
        return None
    return min(pool, key=lambda c: (c.idle_since_ms, c.user_id)).user_id
