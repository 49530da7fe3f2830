"""Routing: offer waiting SMS sessions to Ready agents with free capacity, and expire offers not answered.

Policy (the pure part is ``smsdesk/domain/routing.py``): the agent idle the longest among Ready agents whose
load is below capacity; the agent saved with ``saveLAR`` first when available; agents that rejected or let the
offer time out in this round are skipped. Every agent serves every queue [INF, docs/sessions.md]. Each offer is
one engine run, so the version check stops two nodes from offering one session twice.

Cost: one pass reads the waiting sessions, the agents and their loads once, and keeps the Ready agents with
free capacity in a heap ordered like ``choose_agent`` (idle the longest, then user id). Choosing an agent for
a session pops past the agents excluded for that session and puts them back, so a pass is
O((waiting + agents) log agents), not O(waiting x agents). ``CandidatePool.choose`` must agree with
``choose_agent``; ``tests/actions/test_routing_pool.py`` checks it against random inputs.
"""

from __future__ import annotations

import heapq
import time
from collections.abc import Collection, Iterable

from smsdesk.actions.engine import apply_command, run_on_session
from smsdesk.domain.agents import ChannelState
from smsdesk.domain.errors import GwsError
from smsdesk.domain.outcome import Outcome
from smsdesk.domain.participants import UserState
from smsdesk.domain.routing import Candidate
from smsdesk.domain.sessions import Session
from smsdesk.domain.system import Offer, WithdrawOffer
from smsdesk.domain.users import Role, User
from smsdesk.runtime import Runtime
from smsdesk.store.base import SessionRecord

__all__ = ["CandidatePool", "Router"]

_USERS_TTL_S = 5.0


class CandidatePool:
    """The available candidates of one routing pass, with loads kept up to date as offers are made."""

    def __init__(self, candidates: Iterable[Candidate]) -> None:
        self._free: dict[str, Candidate] = {c.user_id: c for c in candidates if c.available}
        self._heap = [(c.idle_since_ms, c.user_id) for c in self._free.values()]
        heapq.heapify(self._heap)

    def __len__(self) -> int:
        return len(self._free)

    def choose(self, *, lar_agent_id: str | None = None, excluded: Collection[str] = ()) -> str | None:
        """Same answer as ``choose_agent`` over the pool's candidates (the agents still available)."""
        if lar_agent_id is not None and lar_agent_id in self._free and lar_agent_id not in excluded:
            return lar_agent_id
        skipped: list[tuple[int, str]] = []
        chosen: str | None = None
        while self._heap:
            entry = self._heap[0]
            if entry[1] not in self._free:  # became full: drop it for good
                heapq.heappop(self._heap)
            elif entry[1] in excluded:
                skipped.append(heapq.heappop(self._heap))
            else:
                chosen = entry[1]
                break
        for entry in skipped:
            heapq.heappush(self._heap, entry)
        return chosen

    def offered(self, user_id: str) -> None:
        """One more session counts toward ``user_id``'s capacity."""
        c = self._free.get(user_id)
        if c is None:
            return
        load = c.load + 1
        if load < c.capacity:
            self._free[user_id] = Candidate(c.user_id, c.ready, load, c.capacity, c.idle_since_ms)
        else:
            del self._free[user_id]


class Router:
    def __init__(self, rt: Runtime, *, batch: int = 200) -> None:
        self.rt = rt
        self.batch = batch
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

    def forget_users(self) -> None:
        self._users_at = -_USERS_TTL_S

    async def route_waiting(self) -> int:
        """Offer as many waiting sessions as agents allow; returns the number of offers made."""
        self.more_waiting = False
        waiting = await self.rt.store.list_waiting_sessions(self.batch)
        if not waiting:
            return 0
        users = await self._agents()
        agents = [
            a
            for a in await self.rt.store.list_agents()
            if a.state is ChannelState.READY and a.user_id in users
        ]
        if not agents:
            return 0
        loads = await self.rt.store.agent_loads()
        default_capacity = self.rt.settings.default_capacity
        pool = CandidatePool(
            Candidate(
                a.user_id,
                True,
                loads.get(a.user_id, 0),
                users[a.user_id].capacity or default_capacity,
                a.idle_since_ms,
            )
            for a in agents
        )
        offers = 0
        for rec in waiting:
            if not pool:
                break
            session = Session.from_json(rec.data)
            holders = {p.user_id for p in session.users() if not p.terminal and p.user_id}
            agent_id = pool.choose(lar_agent_id=session.lar_agent_id, excluded={*session.excluded, *holders})
            if agent_id is None:
                continue
            if await self._offer(rec, agent_id, users[agent_id].display_name):
                pool.offered(agent_id)
                offers += 1
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
        """Offers not accepted within ``offer_timeout_s`` are revoked; the session is routed again."""
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
                if await self._withdraw(rec, user_id):
                    expired += 1
        return expired

    async def _withdraw(self, rec: SessionRecord, user_id: str) -> bool:
        async def decide(session: Session) -> Outcome:
            return apply_command(self.rt, session, WithdrawOffer(user_id))

        try:
            await run_on_session(self.rt, rec.id, decide, seen=rec)
            return True
        except GwsError:
            return False
