"""Routing: offer waiting SMS sessions to Ready agents with free capacity, and expire offers not answered.

Policy (the pure part is ``smsdesk/domain/routing.py``, docs/routing.md): the agent idle the longest among
Ready agents whose load is below capacity and who hold the skills the session's queue asks for; the agent
saved with ``saveLAR`` first when available; agents that rejected or let the offer time out in this round
are skipped while anybody else is available. Higher-priority queues are served first, the longest waiting
first within one (among the ``batch`` oldest waiting sessions a pass reads). A session that waited past
its queue's ``overflow_after_s`` moves to ``overflow_to``. Each offer is one engine run, so the version
check stops two nodes from offering one session twice. With no ``queues`` configured none of the queue work
is done: a pass costs what it did before queues existed.

Also here: offer expiry with RONA (``expire_offers``) and the presence rule (``apply_presence``).

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
The agents' skills are read with the users, every ``_USERS_TTL_S`` (at once after a change on this node).
``AgentRoster`` and ``CandidatePool`` are in ``roster.py``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator

from smsdesk.actions.channels import do_system_not_ready
from smsdesk.actions.engine import apply_command, run_on_session
from smsdesk.actions.leaving import release_agent
from smsdesk.actions.roster import AgentRoster, CandidatePool
from smsdesk.actions.waiting import WaitingRules
from smsdesk.domain.errors import GwsError
from smsdesk.domain.outcome import Outcome
from smsdesk.domain.participants import UserState
from smsdesk.domain.routing import (
    ABSENT_REASON,
    NOT_RESPONDING_REASON,
    absent_agents,
    presence_beat_s,
    qualified,
    routed_offer,
)
from smsdesk.domain.sessions import Phase, Session
from smsdesk.domain.system import Offer, Overflow, WithdrawOffer
from smsdesk.domain.users import Role, User
from smsdesk.runtime import Runtime
from smsdesk.store.base import SessionRecord

__all__ = ["AgentRoster", "CandidatePool", "Router", "target_queue"]  # the first two: roster.py

_USERS_TTL_S = 5.0
_NO_SKILLS: dict[str, int] = {}


def _parsed(waiting: list[SessionRecord]) -> Iterator[tuple[SessionRecord, Session]]:
    for rec in waiting:
        yield rec, Session.from_json(rec.data)


def target_queue(session: Session) -> str:
    """The queue a waiting session waits in: an invitation through a queue names its own."""
    pend = session.pending
    if session.phase is not Phase.QUEUED and pend is not None and pend.target_queue is not None:
        return pend.target_queue
    return session.queue


class Router:
    def __init__(self, rt: Runtime, *, batch: int = 200) -> None:
        self.rt = rt
        self.batch = batch
        self.roster = AgentRoster()
        self._users: dict[str, User] = {}
        self._users_at = -_USERS_TTL_S
        self._skills: dict[str, dict[str, int]] = {}  # user id -> skill -> level, read with the users
        self.waiting = WaitingRules(rt, target_queue)  # queue order, hours, auto-replies (waiting.py)
        self.more_waiting = False  # the last pass took a full batch and made offers: run another

    async def _agents(self) -> dict[str, User]:
        now = time.monotonic()
        if now - self._users_at > _USERS_TTL_S:
            users = await self.rt.store.list_users()
            self._users = {u.id: u for u in users if u.enabled and u.has(Role.AGENT)}
            if self.rt.settings.queues:
                self._skills = await self.rt.store.list_skills()
            self._users_at = now
        return self._users

    def forget_users(self) -> None:
        """Users or skills changed on this node: the next pass reads them again."""
        self._users_at = -_USERS_TTL_S

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
        queued: Iterable[tuple[SessionRecord, Session]] = _parsed(waiting)  # lazily: a pass may stop early
        extra: list[Awaitable[bool]] = []  # overflows and auto-replies, written with the offers
        closed: list[tuple[SessionRecord, Session]] = []
        rules = self.waiting if WaitingRules.active(self.rt.settings) else None
        now_ms = self.rt.clock.now_ms()
        if rules is not None:  # queues, business hours or auto-replies are configured
            queued, moving, closed = rules.sort(list(queued), now_ms)
            extra = [self._overflow(rec, to) for rec, to in moving]
        now = self.rt.clock.monotonic()
        if self.roster.stale(now):
            await self._refresh_roster(now)
        if not self.roster.ready(users)[0]:
            if rules is not None:
                extra += rules.replies(list(queued), set(), closed, now_ms)
            await asyncio.gather(*extra)
            return 0
        loads = await self.rt.store.agent_loads()
        default_capacity = self.rt.settings.default_capacity
        order, ready = self.roster.ready(users)  # no await from here to the offers' gather

        def room(user_id: str) -> int:
            return (users[user_id].capacity or default_capacity) - loads.get(user_id, 0)

        pool = CandidatePool(order, ready, room)
        planned: list[tuple[SessionRecord, str]] = []
        for rec, session in queued:
            if not pool:
                break
            holders = {p.user_id for p in session.users() if not p.terminal and p.user_id}
            agent_id = pool.choose(
                lar_agent_id=session.lar_agent_id,
                excluded=session.excluded,
                busy=holders,
                eligible=self._eligible(session),
            )
            if agent_id is None:
                continue
            pool.offered(
                agent_id
            )  # the slot is the session's from now on (a failed offer frees it next pass)
            planned.append((rec, agent_id))
        if rules is not None:
            placed = {rec.id for rec, _ in planned}
            extra += rules.replies(list(queued), placed, closed, now_ms)
        # The offers of a pass touch different sessions: made at once, their writes share a group commit
        # instead of each waiting for the previous one's (a pass of 100 offers was ~100 commits in a row).
        made = await asyncio.gather(
            *(self._offer(rec, agent_id, users[agent_id].display_name) for rec, agent_id in planned),
            *extra,
        )
        offers = sum(made[: len(planned)])
        self.more_waiting = offers > 0 and len(waiting) >= self.batch
        return offers

    def _eligible(self, session: Session) -> Callable[[str], bool] | None:
        """The agents who may serve the session's queue (None: everybody, the queue asks for no skill)."""
        required = self.rt.settings.queue(target_queue(session)).skills
        if not required:
            return None
        skills = self._skills
        return lambda user_id: qualified(skills.get(user_id, _NO_SKILLS), required)

    async def _overflow(self, rec: SessionRecord, queue: str) -> bool:
        async def decide(session: Session) -> Outcome:
            return apply_command(self.rt, session, Overflow(queue))

        try:
            await run_on_session(self.rt, rec.id, decide, seen=rec)
            return True
        except GwsError:
            return False  # offered or changed meanwhile

    async def _offer(self, rec: SessionRecord, agent_id: str, nickname: str) -> bool:
        async def decide(session: Session) -> Outcome:
            return apply_command(self.rt, session, Offer(agent_id, nickname))

        try:
            await run_on_session(self.rt, rec.id, decide, seen=rec)
        except GwsError:
            return False  # taken meanwhile (another node, a customer opt-out...): the next pass sees it
        if self.waiting is not None:
            self.waiting.offered(rec.queued_ms, self.rt.clock.now_ms())
        return True

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
