"""The router's in-memory view of agents: ``AgentRoster`` (channel states, kept sorted like ``choose_agent``)
and ``CandidatePool`` (one pass's available agents). How they are fed and refreshed is described in
``smsdesk/actions/routing.py``; ``CandidatePool.choose`` must agree with ``choose_agent``
(``tests/actions/test_routing_pool.py`` checks it against random inputs)."""

from __future__ import annotations

import bisect
import dataclasses
from collections.abc import Callable, Collection, Iterable, Sequence

from smsdesk.domain.agents import AgentState, ChannelState
from smsdesk.domain.routing import Candidate
from smsdesk.domain.users import User
from smsdesk.store.base import Change

__all__ = ["AgentRoster", "CandidatePool"]


class CandidatePool:
    """The available candidates of one routing pass, with loads kept up to date as offers are made.

    ``order`` is the Ready agents as ``(idle_since_ms, user_id)``, sorted; ``room(user_id)`` how many more
    sessions the agent may take at the start of the pass (asked once per agent, when first needed)."""

    def __init__(
        self, order: Sequence[tuple[int, str]], ready: Collection[str], room: Callable[[str], int]
    ) -> None:
        self._order = order
        self._ready = ready
        self._room_of = room
        self._room: dict[str, int] = {}
        self._start = 0  # every agent before it is full for the rest of the pass

    @classmethod
    def of(cls, candidates: Iterable[Candidate]) -> CandidatePool:
        free = {c.user_id: c for c in candidates if c.available}
        order = sorted((c.idle_since_ms, c.user_id) for c in free.values())
        return cls(order, free, lambda uid: free[uid].capacity - free[uid].load)

    def _left(self, user_id: str) -> int:
        left = self._room.get(user_id)
        if left is None:
            left = self._room[user_id] = self._room_of(user_id)
        return left

    def __len__(self) -> int:
        """How many agents can still take a session (O(agents): for tests and logs, not for a pass)."""
        return sum(1 for _, user_id in self._order[self._start :] if self._left(user_id) > 0)

    def __bool__(self) -> bool:
        while self._start < len(self._order) and self._left(self._order[self._start][1]) <= 0:
            self._start += 1
        return self._start < len(self._order)

    def choose(
        self,
        *,
        lar_agent_id: str | None = None,
        excluded: Collection[str] = (),
        busy: Collection[str] = (),
        eligible: Callable[[str], bool] | None = None,
    ) -> str | None:
        """Same answer as ``choose_agent`` over the pool's candidates (the agents still available)."""
        if not self:
            return None
        avoid: Collection[str] = excluded
        pick = self._first(excluded, busy, eligible)
        if pick is None:  # only agents excluded for this session are left: they may have it after all
            avoid = ()
            pick = self._first((), busy, eligible)
            if pick is None:
                return None
        if (
            lar_agent_id is not None
            and lar_agent_id in self._ready
            and lar_agent_id not in busy
            and lar_agent_id not in avoid
            and self._left(lar_agent_id) > 0
            and (eligible is None or eligible(lar_agent_id))
        ):
            return lar_agent_id
        return pick

    def _first(
        self, excluded: Collection[str], busy: Collection[str], eligible: Callable[[str], bool] | None
    ) -> str | None:
        for i in range(self._start, len(self._order)):
            user_id = self._order[i][1]
            if (
                user_id not in excluded
                and user_id not in busy
                and self._left(user_id) > 0
                and (eligible is None or eligible(user_id))
            ):
                return user_id
        return None

    def offered(self, user_id: str) -> None:
        """One more session counts toward ``user_id``'s capacity."""
        self._room[user_id] = self._left(user_id) - 1


class AgentRoster:
    """The agents' channel states as this node's router knows them (see the module docstring)."""

    REFRESH_S = 1.0  # another node's change reaches the router within this
    HINTED_REFRESH_S = 0.1  # ... or within this, when the other node said so (``RouterLoop.HINT_TOPIC``)
    WHOLE_REFRESH_S = 30.0  # a whole read this often; in between, only the agents changed lately are read
    MARGIN_MS = 5_000  # a read of changes goes back this far before the previous read began

    def __init__(self) -> None:
        self._agents: dict[str, AgentState] | None = None
        self._loaded_at = 0.0  # monotonic seconds of the last read (whole or of changes)
        self._whole_at = 0.0  # ... of the last whole read
        self._read_ms = 0  # wall-clock ms when the last read began
        self._order: list[tuple[int, str]] | None = None
        self._ready: set[str] = set()
        self._users: dict[str, User] | None = None
        self._hinted = False  # another node changed a channel state since the last read

    def hinted(self) -> None:
        """Another node committed a channel state: read the changes sooner than ``REFRESH_S``."""
        self._hinted = True

    def stale(self, now: float) -> bool:
        if self._agents is None:
            return True
        since = now - self._loaded_at
        return since >= self.REFRESH_S or (self._hinted and since >= self.HINTED_REFRESH_S)

    def whole_due(self, now: float) -> bool:
        return self._agents is None or now - self._whole_at >= self.WHOLE_REFRESH_S

    @property
    def changed_since_ms(self) -> int:
        """Where the next read of changes starts: a write's time is taken before its commit (and by another
        node's clock), so a write that committed after the last read began may carry a slightly older time."""
        return self._read_ms - self.MARGIN_MS

    def load(self, agents: Iterable[AgentState], now: float, now_ms: int = 0) -> None:
        """A whole read, begun at ``now_ms``."""
        self._agents = {a.user_id: a for a in agents}
        self._loaded_at = self._whole_at = now
        self._hinted = False
        self._read_ms = now_ms
        self._order = None

    def merge(self, changed: Iterable[AgentState], now: float, now_ms: int) -> None:
        """A read of the agents changed since ``changed_since_ms``, begun at ``now_ms``. Most of them are
        already known as they are (this node's own commits, or read last time): they leave the order as it is."""
        agents = self._agents
        if agents is None:
            raise RuntimeError("merge before a whole load")
        for a in changed:
            if agents.get(a.user_id) != a:
                self._set(a)
        self._loaded_at = now
        self._hinted = False
        self._read_ms = now_ms

    def apply(self, change: Change) -> None:
        """This node committed channel states or idle times: the roster follows at once."""
        agents = self._agents
        if agents is None:
            return
        for a in change.agents:
            self._set(a)
        for user_id, idle_ms in change.agents_idle:
            held = agents.get(user_id)
            if held is not None:
                self._set(dataclasses.replace(held, idle_since_ms=idle_ms))

    def _set(self, agent: AgentState) -> None:
        """Keep ``agent``; the sorted order follows in O(log n + a list move), not a sort of every agent
        (each completed session changes its agent's idle time)."""
        assert self._agents is not None
        old = self._agents.get(agent.user_id)
        self._agents[agent.user_id] = agent
        order, users = self._order, self._users
        if order is None or users is None:
            return  # built whole when next asked for
        if old is not None and self._counts(old, users):
            del order[bisect.bisect_left(order, (old.idle_since_ms, old.user_id))]
            self._ready.discard(old.user_id)
        if self._counts(agent, users):
            bisect.insort(order, (agent.idle_since_ms, agent.user_id))
            self._ready.add(agent.user_id)

    @staticmethod
    def _counts(agent: AgentState, users: dict[str, User]) -> bool:
        return agent.state is ChannelState.READY and agent.user_id in users

    def agents(self) -> list[AgentState]:
        return list((self._agents or {}).values())

    def ready(self, users: dict[str, User]) -> tuple[list[tuple[int, str]], set[str]]:
        """The Ready agents among ``users``, sorted like ``choose_agent``, and as a set. The roster's own
        list and set, changed in place by its next change: use them before the next ``await``."""
        if self._order is None or users is not self._users:
            ready = [a for a in (self._agents or {}).values() if self._counts(a, users)]
            self._order = sorted((a.idle_since_ms, a.user_id) for a in ready)
            self._ready = {a.user_id for a in ready}
            self._users = users
        return self._order, self._ready
