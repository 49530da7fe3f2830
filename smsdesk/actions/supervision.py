"""Supervision use cases: Monitor / Coach / BargeIn subscriptions, CancelSupervisorMonitoring, Intrude, the
supervisor's own subscriptions and the audit log (spec §7; the Monitor page sentence by sentence is in
docs/supervision.md). The join itself happens in the engine when the monitored agent accepts a session."""

from __future__ import annotations

from typing import Any

from smsdesk.actions.access import access_user_by_id, require_admin, require_feature, require_supervisor
from smsdesk.actions.engine import apply_command, run_on_session
from smsdesk.domain.errors import InvalidState, NotFound, Validation
from smsdesk.domain.outcome import Outcome
from smsdesk.domain.sessions import Session
from smsdesk.domain.supervision import MonitoringSubscription, cancel, intrude_mode, parse_subscription
from smsdesk.domain.system import Intrude
from smsdesk.domain.users import Principal, Role, User
from smsdesk.runtime import Runtime
from smsdesk.store.base import AuditEntry, Change, SubscriptionRow

__all__ = [
    "SUPERVISION_OPERATIONS",
    "check_cancel_monitoring",
    "check_intrude",
    "check_list_audit",
    "check_subscribe",
    "list_my_subscriptions",
]

_SUPERVISION_CHANNELS = {"smssession", "smsession", "sms", "smssessions", "smsessions"}


async def _target_agent(rt: Runtime, principal: Principal, agent_id: str, channel: str | None) -> User:
    require_feature(rt.settings, "api-multimedia")
    if channel is not None:
        if channel.lower() not in _SUPERVISION_CHANNELS:
            raise NotFound(f"Not found: channel '{channel}' has no supervision; use .../channels/smssession")
    require_supervisor(principal)
    agent = await access_user_by_id(rt.store, agent_id)
    if not agent.has(Role.AGENT):
        raise InvalidState(f"User '{agent.user_name}' is not an agent")
    return agent


async def _subscriptions(rt: Runtime, **where: str) -> list[MonitoringSubscription]:
    return [MonitoringSubscription.from_json(r.data) for r in await rt.store.list_subscriptions(**where)]


async def check_subscribe(
    rt: Runtime, principal: Principal, agent_id: str, channel: str, body: dict[str, Any]
) -> dict[str, Any]:
    """Monitor, Coach or BargeIn: join the agent's NEXT accepted session(s) in that mode."""
    agent = await _target_agent(rt, principal, agent_id, channel)
    supervisor = await access_user_by_id(rt.store, principal.user_id)
    sub = parse_subscription(
        body,
        supervisor_id=principal.user_id,
        agent_id=agent.id,
        default_nickname=supervisor.user_name,
        now_ms=rt.clock.now_ms(),
    )
    details = {"mode": sub.mode.value, "scope": sub.scope.value, "nickname": sub.nickname}
    await rt.commit(
        Change(
            subscriptions_put=[SubscriptionRow(sub.supervisor_id, sub.agent_id, sub.to_json())],
            audit=[AuditEntry(principal.user_id, sub.mode.value, agent.id, details, sub.created_ms)],
        )
    )
    return {}


async def check_cancel_monitoring(
    rt: Runtime, principal: Principal, agent_id: str, channel: str, body: dict[str, Any]
) -> dict[str, Any]:
    """Ends the subscription; sessions the supervisor already joined are kept (Leave ends those)."""
    agent = await _target_agent(rt, principal, agent_id, channel)
    existing = await _subscriptions(rt, supervisor_id=principal.user_id)
    cancel(existing, supervisor_id=principal.user_id, agent_id=agent.id)  # raises when not monitoring
    await rt.commit(
        Change(
            subscriptions_delete=[(principal.user_id, agent.id)],
            audit=[
                AuditEntry(principal.user_id, "CancelSupervisorMonitoring", agent.id, {}, rt.clock.now_ms())
            ],
        )
    )
    return {}


SUPERVISION_OPERATIONS = {
    "monitor": check_subscribe,
    "coach": check_subscribe,
    "bargein": check_subscribe,
    "cancelsupervisormonitoring": check_cancel_monitoring,
}


async def check_intrude(
    rt: Runtime, principal: Principal, agent_id: str, session_id: str, body: dict[str, Any]
) -> dict[str, Any]:
    """Join the agent's CURRENT session: the supervisor gets it ``Invited`` and then Accepts."""
    op = body.get("operationName")
    if not isinstance(op, str) or op.lower() != "intrude":
        raise Validation(f"Unknown operationName {op!r} on this resource; use Intrude")
    agent = await _target_agent(rt, principal, agent_id, None)
    subs = await _subscriptions(rt, supervisor_id=principal.user_id)
    mode = intrude_mode(
        body.get("supervisorVisibilityMode"), subs, supervisor_id=principal.user_id, agent_id=agent.id
    )
    supervisor = await access_user_by_id(rt.store, principal.user_id)
    nickname = body.get("nickname") if isinstance(body.get("nickname"), str) else None

    async def decide(session: Session) -> Outcome:
        p = session.for_user(agent.id)
        if p is None or p.terminal or not p.is_agent:
            raise NotFound(f"Agent '{agent.user_name}' is not in SMS session '{session_id}'")
        return apply_command(rt, session, Intrude(principal.user_id, nickname or supervisor.user_name, mode))

    details = {"mode": mode.value, "sessionId": session_id}
    audit = AuditEntry(principal.user_id, "Intrude", agent.id, details, rt.clock.now_ms())
    await run_on_session(rt, session_id, decide, extra=lambda: Change(audit=[audit]))
    return {}


async def list_my_subscriptions(rt: Runtime, principal: Principal) -> list[dict[str, Any]]:
    """``GET /api/v2/me/supervision``: whom this supervisor monitors, in which mode and scope."""
    require_supervisor(principal)
    out = []
    for sub in await _subscriptions(rt, supervisor_id=principal.user_id):
        agent = await rt.store.get_user(sub.agent_id)
        out.append(
            {
                "agentId": sub.agent_id,
                "agentUserName": agent.user_name if agent else None,
                "agentUri": f"{rt.settings.base_url}/api/v2/users/{sub.agent_id}",
                "operationName": sub.mode.value,
                "supervisorMonitoringMode": sub.scope.value,
                "nickname": sub.nickname,
                "since": sub.created_ms,
            }
        )
    return out


async def check_list_audit(
    rt: Runtime, principal: Principal, limit: str | None, before: str | None
) -> list[dict[str, Any]]:
    require_admin(principal)
    try:
        n = int(limit) if limit else 100
        before_id = int(before) if before else None
    except ValueError:
        raise Validation("'limit' and 'before' must be integers") from None
    if not 1 <= n <= 1000:
        raise Validation("'limit' must be between 1 and 1000")
    if before_id is not None and not -(2**63) <= before_id < 2**63:
        raise Validation("'before' must be a 64-bit integer")
    return [
        {
            "id": a.id,
            "actorId": a.actor_id,
            "action": a.action,
            "targetId": a.target_id,
            "details": dict(a.details),
            "timestamp": a.created_ms,
        }
        for a in await rt.store.list_audit(n, before_id)
    ]
