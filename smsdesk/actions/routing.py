"""Routing: offer waiting SMS sessions to Ready agents with free capacity, and expire offers not answered.

Policy (the pure part is ``smsdesk/domain/routing.py``, docs/routing.md): the agent idle the longest among
Ready agents whose load is below capacity; the agent saved with ``saveLAR`` first when available; agents that
rejected or let the offer time out in this round are skipped while anybody else is available. Every agent serves every queue [INF, docs/sessions.md]. Each offer is
one engine run, so the version check stops two nodes from offering one session twice.

Cost: one pass reads the waiting sessions and the loads (one grouped count over session members). The agents'
channel states come from the ``AgentRoster``, updated in memory by this node's own commits of channel states and
idle times (``Runtime.agents_committed``) and refreshed from the store at most once a second
(``AgentRoster.REFRESH_S``): a read of only the agents whose channel state or idle time was set since the
previous read began, less ``MARGIN_MS`` (the time of a write is taken before its commit, and by its node's
clock), and a whole read every ``WHOLE_REFRESH_S`` in case a write took longer than the margin to commit. So a
change made on another node (Ready, NotReady) reaches this node's router within ``REFRESH_S``; on this node
at once. The roster keeps the Ready agents sorted like ``choose_agent`` (idle the longest, then user id),
a change moving one entry (a completed session changes its agent's idle time); a pass walks that order and
skips the agents excluded for the session or full, so it costs O(waiting + agents skipped), not O(agents).
``CandidatePool.choose`` must agree with ``choose_agent``; ``tests/actions/test_routing_pool.py`` checks it
against random inputs.
"""

from __future__ import annotations

import asyncio
import bisect
import dataclasses
import time
from collections.abc import Callable, Collection, Iterable, Sequence

from smsdesk.actions.channels import do_system_not_ready
from smsdesk.actions.engine import apply_command, run_on_session
from smsdesk.actions.leaving import release_agent
from smsdesk.domain.agents import AgentState, ChannelState
from smsdesk.domain.errors import GwsError
from smsdesk.domain.outcome import Outcome
from smsdesk.domain.participants import UserState
from smsdesk.domain.routing import (
    ABSENT_REASON,
    NOT_RESPONDING_REASON,
    Candidate,
    absent_agents,
    presence_beat_s,
    routed_offer,
)
from smsdesk.domain.sessions import Session
from smsdesk.domain.system import Offer, WithdrawOffer
from smsdesk.domain.users import Role, User
from smsdesk.runtime import Runtime
from smsdesk.store.base import Change, SessionRecord

__all__ = ["AgentRoster", "CandidatePool", "Router"]

_USERS_TTL_S = 5.0


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
    ) -> str | None:
        """Same answer as ``choose_agent`` over the pool's candidates (the agents still available)."""
        if not self:
            return None
        avoid: Collection[str] = excluded
        pick = self._first(excluded, busy)
        if pick is None:  # only agents excluded for this session are left: they may have it after all
            avoid = ()
            pick = self._first((), busy)
            if pick is None:
                return None
        if (
            lar_agent_id is not None
            and lar_agent_id in self._ready
            and lar_agent_id not in busy
            and lar_agent_id not in avoid
            and self._left(lar_agent_id) > 0
        ):
            return lar_agent_id
        return pick

    def _first(self, excluded: Collection[str], busy: Collection[str]) -> str | None:
        for i in range(self._start, len(self._order)):
            user_id = self._order[i][1]
            if user_id not in excluded and user_id not in busy and self._left(user_id) > 0:
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


class Router:
    def __init__(self, rt: Runtime, *, batch: int = 200) -> None:
        self.rt = rt
        self.batch = batch
        self.roster = AgentRoster()
        self._users: dict[str, User] = {}
        self._users_at = -_USERS_TTL_S
        self.more_waiting = False  # the last pass took a full batch and made offers: run another

    async def _agents(self) -> dict[str, User]:
        now = time.monotonic()
        if now - self._users_at > _USERS_TTL_S:
            users = await self.rt.store.list_users()
            self._users = {u.id: u for u in users if u.enabled and u.has(Role.AGENT)}
            self._users_at = now
        return self._users

    async def _refresh_roster(self, now: float) -> None:
        now_ms = self.rt.clock.now_ms()  # before the read: a commit after it is caught by the next one
        if self.roster.whole_due(now):
            self.roster.load(await self.rt.store.list_agents(), now, now_ms)
        else:
            changed = await self.rt.store.list_agents_changed(self.roster.changed_since_ms)
            self.roster.merge(changed, now, now_ms)

    async def route_waiting(self) -> int:
        """Offer as many waiting sessions as agents allow; returns the number of offers made."""
        self.more_waiting = False
        waiting = await self.rt.store.list_waiting_sessions(self.batch)
        if not waiting:
            return 0
        users = await self._agents()
        now = self.rt.clock.monotonic()
        if self.roster.stale(now):
            await self._refresh_roster(now)
        if not self.roster.ready(users)[0]:
            return 0
        loads = await self.rt.store.agent_loads()
        default_capacity = self.rt.settings.default_capacity
        order, ready = self.roster.ready(users)  # no await from here to the offers' gather

        def room(user_id: str) -> int:
            return (users[user_id].capacity or default_capacity) - loads.get(user_id, 0)

        pool = CandidatePool(order, ready, room)
        planned: list[tuple[SessionRecord, str]] = []
        for rec in waiting:
            if not pool:
                break
            session = Session.from_json(rec.data)
            holders = {p.user_id for p in session.users() if not p.terminal and p.user_id}
            agent_id = pool.choose(lar_agent_id=session.lar_agent_id, excluded=session.excluded, busy=holders)
            if agent_id is None:
                continue
            pool.offered(
                agent_id
            )  # the slot is the session's from now on (a failed offer frees it next pass)
            planned.append((rec, agent_id))
        # The offers of a pass touch different sessions: made at once, their writes share a group commit
        # instead of each waiting for the previous one's (a pass of 100 offers was ~100 commits in a row).
        made = await asyncio.gather(
            *(self._offer(rec, agent_id, users[agent_id].display_name) for rec, agent_id in planned)
        )
        offers = sum(made)
        self.more_waiting = offers > 0 and len(waiting) >= self.batch
        return offers

    async def _offer(self, rec: SessionRecord, agent_id: str, nickname: str) -> bool:
        async def decide(session: Session) -> Outcome:
            return apply_command(self.rt, session, Offer(agent_id, nickname))

        try:
            await run_on_session(self.rt, rec.id, decide, seen=rec)
            return True
        except GwsError:
            return False  # taken meanwhile (another node, a customer opt-out...): the next pass sees it

    async def expire_offers(self) -> int:
        """Offers not accepted within ``offer_timeout_s`` are revoked; the session is routed again. With
        ``rona_not_ready``, an agent who let a routed offer lapse is set NotReady, "Not Responding"."""
        now = self.rt.clock.now_ms()
        timeout_ms = int(self.rt.settings.offer_timeout_s * 1000)
        expired = 0
        for rec in await self.rt.store.list_due_sessions(now, self.batch):
            session = Session.from_json(rec.data)
            late = [
                p.user_id
                for p in session.users()
                if p.user_id
                and p.state is UserState.INVITED
                and not p.is_supervisor
                and p.since_ms + timeout_ms <= now
            ]
            for user_id in late:
                routed = routed_offer(session, user_id)
                if await self._withdraw(rec, user_id):
                    expired += 1
                    if routed and self.rt.settings.rona_not_ready:
                        await self.not_ready(user_id, NOT_RESPONDING_REASON)
        return expired

    async def not_ready(self, user_id: str, reason: str) -> bool:
        """Set a Ready agent NotReady with ``reason``, as their own NotReady would (``do_system_not_ready``)."""
        user = (await self._agents()).get(user_id) or await self.rt.store.get_user(user_id)
        if user is None:
            return False
        return await do_system_not_ready(self.rt, user_id, user.user_name, reason)

    async def _withdraw(self, rec: SessionRecord, user_id: str) -> bool:
        async def decide(session: Session) -> Outcome:
            return apply_command(self.rt, session, WithdrawOffer(user_id))

        try:
            await run_on_session(self.rt, rec.id, decide, seen=rec)
            return True
        except GwsError:
            return False

    async def apply_presence(self, watching_since_ms: int) -> list[str]:
        """The presence rule (docs/routing.md): agents Ready or holding sessions with no notification client
        on any node for ``presence_grace_s`` are set NotReady, their offers withdrawn (routed again at once)
        and their sessions taken back. One read of the presence rows and one of the loads per call (the
        router loop calls it about once a second), none per offer. Returns the agents it acted on."""
        grace_s = self.rt.settings.presence_grace_s
        if grace_s <= 0:
            return []
        beat_ms = int(presence_beat_s(grace_s) * 1000)
        seen = {u: t + beat_ms for u, t in (await self.rt.store.presence_last_seen()).items()}
        users = await self._agents()
        mono = self.rt.clock.monotonic()
        if self.roster.stale(mono):
            await self._refresh_roster(mono)
        loads = await self.rt.store.agent_loads()
        gone = absent_agents(
            [a for a in self.roster.agents() if a.user_id in users],
            seen,
            loads,
            now_ms=self.rt.clock.now_ms(),
            grace_ms=int(grace_s * 1000),
            watching_since_ms=watching_since_ms,
        )
        for user_id in gone:
            await do_system_not_ready(self.rt, user_id, users[user_id].user_name, ABSENT_REASON)
            await release_agent(self.rt, user_id, chats=True)
        return gone
