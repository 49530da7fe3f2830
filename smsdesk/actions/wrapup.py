"""Wrap-up (after-call work): after an agent's SMS session is done, the channel is NotReady with
``workMode: "AfterCallWork"`` for ``wrap_up_s`` or until the agent chooses a state (docs/ui.md).

The rules are pure (``smsdesk/domain/agents.py``: ``start_wrap_up``, ``leave_wrap_up``, ``wrap_up_due``);
this module loads what they need (the wrapped-up session's disposition), commits the change with its
notifications, and ends the wrap-ups whose time ran out (``end_due_wrap_ups``, called by the router loop on
the injected clock). Each wrap-up that ends is written to the audit log as ``WrapUpEnded`` with its length,
and that length is added to the handle time of the session's queue and of the agent in the same commit
(``Change.wrap_ups``, ``store/counters.py``): a session's handle time is its talk time plus its wrap-up.
"""

from __future__ import annotations

from smsdesk.domain import agents as ag
from smsdesk.domain.agents import AgentState
from smsdesk.domain.errors import GwsError
from smsdesk.domain.sessions import Session
from smsdesk.runtime import Runtime
from smsdesk.store.base import AuditEntry, Change, WrapUpTime

__all__ = ["after_session_done", "end_due_wrap_ups", "has_disposition", "leaving"]


async def has_disposition(rt: Runtime, session_id: str | None) -> bool:
    """Does the session carry a disposition (the ``disposition_key`` of its userData)? A session gone from
    the store cannot get one: it counts as set, so nobody is kept in wrap-up forever."""
    if session_id is None:
        return True
    rec = await rt.store.get_session(session_id)
    if rec is None:
        return True
    value = Session.from_json(rec.data).user_data.get(rt.settings.disposition_key)
    return value is not None and str(value).strip() != ""


async def leaving(rt: Runtime, agent: AgentState, now_ms: int, *, how: str, enforce: bool = True) -> Change:
    """The agent leaves wrap-up (``how``: "agent", "timer", "supervisor" or "logout"): refused while a
    required disposition is missing (unless not ``enforce``d: a supervisor's choice, a logout); else the
    audit entry that records the wrap-up's length and that length for the handle-time counters."""
    if enforce and rt.settings.wrap_up_requires_disposition:
        ag.leave_wrap_up(
            agent, disposition_set=await has_disposition(rt, agent.wrap_session_id), required=True
        )
    wrap_ms = max(0, now_ms - agent.since_ms)
    details = {
        "sessionId": agent.wrap_session_id,
        "startedMs": agent.since_ms,
        "endedMs": now_ms,
        "wrapUpMs": wrap_ms,
        "endedBy": how,
    }
    rec = None if agent.wrap_session_id is None else await rt.store.get_session(agent.wrap_session_id)
    return Change(
        audit=[AuditEntry(agent.user_id, "WrapUpEnded", agent.wrap_session_id, details, now_ms)],
        wrap_ups=[WrapUpTime(agent.user_id, None if rec is None else rec.queue, now_ms, wrap_ms)],
    )


async def after_session_done(rt: Runtime, user_id: str, user_name: str, session_id: str) -> AgentState:
    """The agent completed (or left) ``session_id``: wrap-up starts when configured and the agent was Ready."""
    from smsdesk.actions.channels import apply_agent_state  # channels imports this module

    now = rt.clock.now_ms()
    wrap_up_s = rt.settings.wrap_up_s
    return await apply_agent_state(
        rt, user_id, user_name, lambda a: ag.start_wrap_up(a, now, session_id, wrap_up_s)
    )


async def end_due_wrap_ups(rt: Runtime) -> int:
    """Agents whose wrap-up time ran out become Ready; returns how many."""
    from smsdesk.actions.channels import apply_agent_state

    now = rt.clock.now_ms()
    required = rt.settings.wrap_up_requires_disposition
    ended = 0
    for agent in await rt.store.list_agents():
        if not agent.wrapping_up or agent.wrap_until_ms is None or now < agent.wrap_until_ms:
            continue
        disposed = await has_disposition(rt, agent.wrap_session_id) if required else True
        if not ag.wrap_up_due(agent, now, disposition_set=disposed, required=required):
            continue
        user = await rt.store.get_user(agent.user_id)
        current = await rt.store.get_agent(agent.user_id)  # the agent may have chosen a state meanwhile
        if user is None or current is None or current.wrap_session_id != agent.wrap_session_id:
            continue
        try:
            extra = await leaving(rt, agent, now, how="timer")
        except GwsError:
            continue
        after = await apply_agent_state(
            rt, agent.user_id, user.user_name, lambda a: ag.set_ready(a, now) if a.wrapping_up else a, extra
        )
        ended += 1 if not after.wrapping_up else 0
    return ended
