"""Routing: offer waiting SMS sessions to Ready agents with free capacity, and expire offers not answered.

Policy (the pure part is ``smsdesk/domain/routing.py``): the agent idle the longest among Ready agents whose
load is below capacity; the agent saved with ``saveLAR`` first when available; agents that rejected or let the
offer time out in this round are skipped. Every agent serves every queue [INF, docs/sessions.md]. Each offer is
one engine run, so the version check stops two nodes from offering one session twice.
"""

from __future__ import annotations

import time

from smsdesk.actions.engine import apply_command, run_on_session
from smsdesk.domain.agents import ChannelState
from smsdesk.domain.errors import GwsError
from smsdesk.domain.outcome import Outcome
from smsdesk.domain.participants import UserState
from smsdesk.domain.routing import Candidate, choose_agent
from smsdesk.domain.sessions import Session
from smsdesk.domain.system import Offer, WithdrawOffer
from smsdesk.domain.users import Role, User
from smsdesk.runtime import Runtime

__all__ = ["Router"]

_USERS_TTL_S = 5.0


class Router:
    def __init__(self, rt: Runtime, *, batch: int = 200) -> None:
        self.rt = rt
        self.batch = batch
        self._users: dict[str, User] = {}
        self._users_at = -_USERS_TTL_S

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
        offers = 0
        for rec in waiting:
            session = Session.from_json(rec.data)
            holders = {p.user_id for p in session.users() if not p.terminal and p.user_id}
            candidates = [
                Candidate(
                    a.user_id,
                    True,
                    loads.get(a.user_id, 0),
                    users[a.user_id].capacity or default_capacity,
                    a.idle_since_ms,
                )
                for a in agents
            ]
            agent_id = choose_agent(
                candidates, lar_agent_id=session.lar_agent_id, excluded={*session.excluded, *holders}
            )
            if agent_id is None:
                continue
            if await self._offer(rec.id, agent_id, users[agent_id].display_name):
                loads[agent_id] = loads.get(agent_id, 0) + 1
                offers += 1
        return offers

    async def _offer(self, session_id: str, agent_id: str, nickname: str) -> bool:
        async def decide(session: Session) -> Outcome:
            return apply_command(self.rt, session, Offer(agent_id, nickname))

        try:
            await run_on_session(self.rt, session_id, decide)
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
                if await self._withdraw(rec.id, user_id):
                    expired += 1
        return expired

    async def _withdraw(self, session_id: str, user_id: str) -> bool:
        async def decide(session: Session) -> Outcome:
            return apply_command(self.rt, session, WithdrawOffer(user_id))

        try:
            await run_on_session(self.rt, session_id, decide)
            return True
        except GwsError:
            return False
