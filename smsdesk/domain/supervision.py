"""Supervisor monitoring subscriptions (Monitor / Coach / BargeIn on an agent's SMS channel).

The policy, sentence by sentence from the GWS Monitor page (see ``docs/supervision.md``):

* a subscription joins the supervisor to the monitored agent's *next* accepted session — never to one in
  progress (``Intrude`` is for that): ``plan_joins`` is called when the agent Accepts;
* ``NextChat`` subscriptions end after that one join; ``AllChats`` (the default) last until cancelled;
* several supervisors may watch one agent, and a supervisor may watch several agents and sit in several
  sessions; a supervisor already in the session is not joined twice;
* what happens to the supervisor inside the session (Revoked on completion or queueing, staying on while
  another agent remains, Leave at any time) is session policy: ``smsdesk/domain/_change.py``.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from smsdesk.domain._fields import get_enum, get_int, get_opt_str, get_str, require_mapping
from smsdesk.domain.errors import InvalidState, MissingParameter, Validation
from smsdesk.domain.participants import SupervisionMode, UserState
from smsdesk.domain.sessions import Session
from smsdesk.domain.system import SupervisorJoin

__all__ = [
    "JoinPlan",
    "MonitoringSubscription",
    "Scope",
    "cancel",
    "intrude_mode",
    "parse_subscription",
    "plan_joins",
    "subscribe",
]


class Scope(enum.Enum):
    NEXT_CHAT = "NextChat"  # only the agent's next session, then the subscription ends
    ALL_CHATS = "AllChats"  # every next session until cancelled (default)


@dataclass(frozen=True, slots=True)
class MonitoringSubscription:
    supervisor_id: str
    agent_id: str
    mode: SupervisionMode
    scope: Scope
    nickname: str
    created_ms: int

    def to_json(self) -> dict[str, Any]:
        return {
            "supervisorId": self.supervisor_id,
            "agentId": self.agent_id,
            "mode": self.mode.value,
            "scope": self.scope.value,
            "nickname": self.nickname,
            "createdMs": self.created_ms,
        }

    @classmethod
    def from_json(cls, data: object) -> MonitoringSubscription:
        d = require_mapping(data, "subscription")
        return cls(
            supervisor_id=get_str(d, "supervisorId", missing=Validation),
            agent_id=get_str(d, "agentId", missing=Validation),
            mode=get_enum(d, "mode", SupervisionMode),
            scope=get_enum(d, "scope", Scope),
            nickname=get_opt_str(d, "nickname") or "",
            created_ms=get_int(d, "createdMs"),
        )


def parse_subscription(
    params: Mapping[str, Any], *, supervisor_id: str, agent_id: str, default_nickname: str, now_ms: int
) -> MonitoringSubscription:
    """The body of ``POST /api/v2/users/{agentId}/channels/smssession`` with Monitor, Coach or BargeIn."""
    if params.get("operationName") is None:
        raise MissingParameter("Missing parameter 'operationName'")
    mode = SupervisionMode.parse(params.get("operationName"), "operationName")
    if supervisor_id == agent_id:
        raise InvalidState("A supervisor cannot monitor themself")
    raw_scope = params.get("supervisorMonitoringMode", Scope.ALL_CHATS.value)
    scopes = {s.value.lower(): s for s in Scope}
    scope = scopes.get(raw_scope.lower()) if isinstance(raw_scope, str) else None
    if scope is None:
        raise Validation(f"'supervisorMonitoringMode' must be NextChat or AllChats; got {raw_scope!r}")
    nickname = get_opt_str(params, "nickname")
    return MonitoringSubscription(
        supervisor_id=supervisor_id,
        agent_id=agent_id,
        mode=mode,
        scope=scope,
        nickname=(nickname or "").strip() or default_nickname,
        created_ms=now_ms,
    )


def subscribe(
    existing: Sequence[MonitoringSubscription], new: MonitoringSubscription
) -> tuple[MonitoringSubscription, ...]:
    """Add ``new``; it replaces the same supervisor's subscription to the same agent (mode change)."""
    kept = tuple(s for s in existing if (s.supervisor_id, s.agent_id) != (new.supervisor_id, new.agent_id))
    return (*kept, new)


def cancel(
    existing: Sequence[MonitoringSubscription], *, supervisor_id: str, agent_id: str
) -> tuple[MonitoringSubscription, ...]:
    """CancelSupervisorMonitoring: only valid while monitoring; sessions already joined are kept."""
    kept = tuple(s for s in existing if (s.supervisor_id, s.agent_id) != (supervisor_id, agent_id))
    if len(kept) == len(existing):
        raise InvalidState(f"Supervisor {supervisor_id} is not monitoring agent {agent_id}")
    return kept


@dataclass(frozen=True)
class JoinPlan:
    joins: tuple[SupervisorJoin, ...]  # apply each to the session, in order, after the Accept
    ended: tuple[MonitoringSubscription, ...]  # NextChat subscriptions used up: delete them


def plan_joins(
    subscriptions: Sequence[MonitoringSubscription],
    *,
    agent_id: str,
    session: Session,
    transcript: Sequence[Mapping[str, Any]] = (),
) -> JoinPlan:
    """``agent_id`` just accepted ``session``: who joins it, and which subscriptions are used up.

    ``transcript`` is the transcript *after* the Accept, replayed to each joining supervisor.
    """
    agent = session.for_user(agent_id)
    if agent is None or agent.state is not UserState.CHATTING or not agent.is_agent:
        raise InvalidState(f"Agent {agent_id} is not chatting in SMS session {session.id}")
    joins: list[SupervisorJoin] = []
    ended: list[MonitoringSubscription] = []
    for sub in sorted(subscriptions, key=lambda s: (s.created_ms, s.supervisor_id)):
        if sub.agent_id != agent_id:
            continue
        present = session.for_user(sub.supervisor_id)
        if sub.scope is Scope.NEXT_CHAT:
            ended.append(sub)
        if (present is None or present.terminal) and all(j.supervisor_id != sub.supervisor_id for j in joins):
            joins.append(SupervisorJoin(sub.supervisor_id, sub.nickname, sub.mode, tuple(transcript)))
    return JoinPlan(tuple(joins), tuple(ended))


def intrude_mode(
    requested: object, subscriptions: Sequence[MonitoringSubscription], *, supervisor_id: str, agent_id: str
) -> SupervisionMode:
    """``supervisorVisibilityMode`` if given; else the mode of the supervisor's subscription to the agent."""
    if requested is not None:
        return SupervisionMode.parse(requested, "supervisorVisibilityMode")
    for sub in subscriptions:
        if (sub.supervisor_id, sub.agent_id) == (supervisor_id, agent_id):
            return sub.mode
    raise MissingParameter("Missing parameter 'supervisorVisibilityMode' (you are not monitoring this agent)")
