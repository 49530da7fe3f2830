"""Agent channel state: contact-center session start/end, Ready/NotReady (spec §9.2, §9.3).

Every change is persisted with a ``ChannelStateChangeMessageV2`` notification on ``/v2/me/channels`` for the
agent, and a copy on ``/v2/users`` for supervisors (their team view). EndContactCenterSession (logout) also
ends the user's supervisor monitoring subscriptions, in the same transaction (docs/supervision.md).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from smsdesk.actions import wrapup
from smsdesk.actions.access import access_user_by_id, require_feature, require_supervisor
from smsdesk.actions.leaving import release_agent
from smsdesk.domain import agents as ag
from smsdesk.domain.agents import AgentState
from smsdesk.domain.errors import Validation
from smsdesk.domain.events import SUPERVISORS, Notification
from smsdesk.domain.users import Principal
from smsdesk.runtime import Runtime
from smsdesk.store.base import AuditEntry, Change

__all__ = [
    "CHANNEL_OPERATIONS",
    "apply_agent_state",
    "check_set_channel_state",
    "check_supervisor_set_channel_state",
    "do_end_contact_center_session",
    "do_set_channel_state",
    "do_start_contact_center_session",
    "do_system_not_ready",
    "load_agent",
]

CHANNELS_TOPIC = "/v2/me/channels"
CHANNEL_OPERATIONS = ("Ready", "NotReady")  # the operationName values of a channel, exactly as written
USERS_TOPIC = "/v2/users"


async def load_agent(rt: Runtime, user_id: str) -> AgentState:
    return await rt.store.get_agent(user_id) or AgentState(user_id=user_id)


def _notifications(agent: AgentState, user_name: str) -> list[Notification]:
    data = ag.channel_notification(agent)
    team = {
        "messageType": "ChannelStateChangeMessageV2",
        "userId": agent.user_id,
        "userName": user_name,
        "channels": data["channels"],
    }
    return [Notification(agent.user_id, CHANNELS_TOPIC, data), Notification(SUPERVISORS, USERS_TOPIC, team)]


async def apply_agent_state(
    rt: Runtime,
    user_id: str,
    user_name: str,
    fn: Callable[[AgentState], AgentState],
    extra: Change | None = None,
) -> AgentState:
    """Apply ``fn`` to the agent's channel state; ``extra`` is written in the same transaction."""
    before = await load_agent(rt, user_id)
    after = fn(before)
    change = extra or Change()
    if after != before:
        change.agents.append(after)
        change.notifications.extend(_notifications(after, user_name))
    if change:
        await rt.commit(change)
    return after


def _parse_reason(body: dict[str, Any]) -> str | None:
    """``reason``, else ``reasonCode``: a string or null, each."""
    for key in ("reason", "reasonCode"):
        value = body.get(key)
        if value is not None and not isinstance(value, str):
            raise Validation(f"'{key}' must be a string")
    reason = body.get("reason")
    return reason if reason is not None else body.get("reasonCode")


async def do_set_channel_state(
    rt: Runtime,
    user_id: str,
    user_name: str,
    operation: str,
    reason: str | None = None,
    *,
    by_supervisor: bool = False,
) -> AgentState:
    """Ready / NotReady. An agent in wrap-up leaves it (refused while a required disposition is missing; a
    supervisor's choice is not refused)."""
    now = rt.clock.now_ms()
    if operation not in CHANNEL_OPERATIONS:
        raise Validation(
            f"Unknown operationName '{operation}' for a channel; use {' or '.join(CHANNEL_OPERATIONS)}"
        )
    before = await load_agent(rt, user_id)
    extra = None
    if before.wrapping_up:
        how = "supervisor" if by_supervisor else "agent"
        extra = await wrapup.leaving(rt, before, now, how=how, enforce=not by_supervisor)
    if operation == "Ready":
        return await apply_agent_state(rt, user_id, user_name, lambda a: ag.set_ready(a, now), extra)
    return await apply_agent_state(rt, user_id, user_name, lambda a: ag.set_not_ready(a, now, reason), extra)


async def do_system_not_ready(rt: Runtime, user_id: str, user_name: str, reason: str) -> bool:
    """The server sets a Ready agent NotReady with ``reason`` (RONA, presence), through the same write and the
    same notifications (the agent's ``/v2/me/channels``, the supervisors' ``/v2/users``) as the agent's own
    NotReady. An agent no longer Ready is left as they are. Returns whether the state changed."""
    now = rt.clock.now_ms()
    changed = False

    def fn(a: AgentState) -> AgentState:
        nonlocal changed
        after = ag.set_not_ready_by_system(a, now, reason)
        changed = after != a
        return after

    await apply_agent_state(rt, user_id, user_name, fn)
    return changed


async def check_set_channel_state(
    rt: Runtime, principal: Principal, channel: str, operation: str, body: dict[str, Any]
) -> None:
    require_feature(rt.settings, "api-multimedia")
    ag.canonical_channel(channel)
    await do_set_channel_state(rt, principal.user_id, principal.user_name, operation, _parse_reason(body))


async def check_supervisor_set_channel_state(
    rt: Runtime, principal: Principal, user_id: str, channel: str, operation: str, body: dict[str, Any]
) -> None:
    require_feature(rt.settings, "api-supervisor-agent-control")
    require_supervisor(principal)
    ag.canonical_channel(channel)
    target = await access_user_by_id(rt.store, user_id)
    await do_set_channel_state(
        rt, target.id, target.user_name, operation, _parse_reason(body), by_supervisor=True
    )


async def do_start_contact_center_session(
    rt: Runtime, principal: Principal, channels: list[str]
) -> AgentState:
    for ch in channels:
        ag.canonical_channel(ch)
    now = rt.clock.now_ms()
    return await apply_agent_state(
        rt, principal.user_id, principal.user_name, lambda a: ag.start_contact_center_session(a, now)
    )


async def _end_monitoring(rt: Runtime, supervisor_id: str, now_ms: int) -> Change:
    """Logout ends the user's monitoring subscriptions (spec §7.1: "ends at logout"); sessions already
    joined are kept, as with CancelSupervisorMonitoring. Each ended subscription is audited."""
    rows = await rt.store.list_subscriptions(supervisor_id=supervisor_id)
    return Change(
        subscriptions_delete=[(r.supervisor_id, r.agent_id) for r in rows],
        audit=[
            AuditEntry(
                supervisor_id,
                "MonitoringEnded",
                r.agent_id,
                {"mode": r.data.get("mode"), "reason": "EndContactCenterSession"},
                now_ms,
            )
            for r in rows
        ],
    )


async def do_end_contact_center_session(rt: Runtime, principal: Principal) -> AgentState:
    """Logout: the offers pending to the agent are routed again at once (docs/routing.md); the sessions they
    chat in stay theirs until they are absent past the presence grace."""
    now = rt.clock.now_ms()
    extra = await _end_monitoring(rt, principal.user_id, now)
    before = await load_agent(rt, principal.user_id)
    if before.wrapping_up:  # a wrap-up cut short by the logout still counts in the handle time
        ended = await wrapup.leaving(rt, before, now, how="logout", enforce=False)
        extra.audit.extend(ended.audit)
        extra.wrap_ups.extend(ended.wrap_ups)
    agent = await apply_agent_state(
        rt,
        principal.user_id,
        principal.user_name,
        lambda a: ag.end_contact_center_session(a, now),
        extra=extra,
    )
    await release_agent(rt, principal.user_id, chats=False)
    if principal.http_session_id:
        await rt.store.delete_http_session(principal.http_session_id)
    return agent
