"""Agent availability on the SMS channel: a pure state machine (spec §9.2, §9.3).

States (``ChannelState``) and their transitions::

    LoggedOut --StartContactCenterSession--> NotReady
    LoggedOut --Ready (implicit login, [INF])--> Ready
    NotReady  --Ready-->  Ready
    Ready     --NotReady(reason)--> NotReady
    any       --EndContactCenterSession--> LoggedOut
    Ready     --an SMS session done (Complete), wrap_up_s > 0--> NotReady, workMode AfterCallWork
    AfterCallWork --Ready / NotReady by the agent, or wrap_up_s elapsed--> Ready (or the state chosen)

Wrap-up (after-call work) is the GWS way of saying "not ready, finishing the last interaction": the channel is
``NotReady`` with ``workMode: "AfterCallWork"`` (docs/ui.md). The agent gets no offers then (routing offers
Ready agents only). With ``wrap_up_requires_disposition`` the agent cannot leave wrap-up, nor does the timer
end it, before the session it wraps up has a disposition (``leave_wrap_up``, ``wrap_up_due``).

Load (the SMS sessions an agent holds) is not kept here: the store derives it from session membership
(``Store.agent_loads``). ``idle_since_ms`` moves when the agent becomes Ready, and when a session frees the
agent (the session engine writes it), so routing can pick the agent idle the longest.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from typing import Any

from smsdesk.domain.errors import InvalidState, Validation

__all__ = [
    "SMS_CHANNEL",
    "AgentState",
    "ChannelState",
    "canonical_channel",
    "channel_notification",
    "channel_view",
    "end_contact_center_session",
    "leave_wrap_up",
    "set_not_ready",
    "set_not_ready_by_system",
    "set_ready",
    "start_contact_center_session",
    "start_wrap_up",
    "wrap_up_due",
]

AFTER_CALL_WORK = "AfterCallWork"  # the GWS workMode of wrap-up

SMS_CHANNEL = "sms"
# every spelling the supervision channel takes too (`users/{id}/channels/{channel}` serves both)
_CHANNEL_ALIASES = {
    name: SMS_CHANNEL for name in ("sms", "smssession", "smsession", "smssessions", "smsessions")
}

# The two userState ids every GWS sample uses for Ready / NotReady (spec §9.3).
_READY_ID = "9430250E-0A1B-421F-B372-F29E69366DED"
_NOT_READY_ID = "900D55CC-2BB0-431F-8BF9-D3525B383BE6"
_LOGGED_OUT_ID = "3A1D9E5B-6F0C-4B8E-9C2D-7E4F1A2B3C4D"


class ChannelState(enum.Enum):
    LOGGED_OUT = "LoggedOut"  # no contact-center session: never offered work
    NOT_READY = "NotReady"  # logged in, not offered new sessions
    READY = "Ready"  # offered new sessions while load < capacity


_DISPLAY = {
    ChannelState.LOGGED_OUT: ("Logged Out", _LOGGED_OUT_ID),
    ChannelState.NOT_READY: ("Not Ready", _NOT_READY_ID),
    ChannelState.READY: ("Ready", _READY_ID),
}


def canonical_channel(name: str) -> str:
    """``sms`` and its aliases ``smssession``/``smsession`` name the SMS channel; anything else is unknown."""
    try:
        return _CHANNEL_ALIASES[name.strip().lower()]
    except KeyError:
        raise Validation(f"Unknown channel '{name}'; this server offers the channel 'sms'") from None


@dataclass(frozen=True, slots=True)
class AgentState:
    user_id: str
    state: ChannelState = ChannelState.LOGGED_OUT
    reason: str | None = None
    since_ms: int = 0
    idle_since_ms: int = 0
    work_mode: str | None = None  # "AfterCallWork" while wrapping up (state NotReady)
    wrap_session_id: str | None = None  # the SMS session being wrapped up
    wrap_until_ms: int | None = None  # wrap-up ends then (the timer); None: until the agent ends it

    @property
    def wrapping_up(self) -> bool:
        return self.work_mode == AFTER_CALL_WORK


def start_contact_center_session(agent: AgentState, now_ms: int) -> AgentState:
    if agent.state is not ChannelState.LOGGED_OUT:
        return agent  # already logged in: idempotent
    return replace(agent, state=ChannelState.NOT_READY, reason=None, since_ms=now_ms)


def end_contact_center_session(agent: AgentState, now_ms: int) -> AgentState:
    return replace(agent, state=ChannelState.LOGGED_OUT, reason=None, since_ms=now_ms, **_NO_WRAP)


_NO_WRAP: dict[str, Any] = {"work_mode": None, "wrap_session_id": None, "wrap_until_ms": None}


def set_ready(agent: AgentState, now_ms: int) -> AgentState:
    if agent.state is ChannelState.READY:
        return agent
    return replace(
        agent, state=ChannelState.READY, reason=None, since_ms=now_ms, idle_since_ms=now_ms, **_NO_WRAP
    )


def set_not_ready(agent: AgentState, now_ms: int, reason: str | None = None) -> AgentState:
    if agent.state is ChannelState.LOGGED_OUT:
        raise InvalidState("The agent has no contact-center session; start one or set Ready first")
    if reason is not None and len(reason) > 128:
        raise Validation("reason must be at most 128 characters")
    return replace(agent, state=ChannelState.NOT_READY, reason=reason, since_ms=now_ms, **_NO_WRAP)


def start_wrap_up(agent: AgentState, now_ms: int, session_id: str, wrap_up_s: float) -> AgentState:
    """The agent finished ``session_id``: a Ready agent wraps up for ``wrap_up_s`` (0: no wrap-up). An agent
    already Not Ready (on a break, or wrapping up another session) keeps its state: wrap-up never makes an
    agent more available than it chose to be. A new wrap-up replaces a running one (the later session)."""
    if wrap_up_s <= 0:
        return agent
    if agent.state is not ChannelState.READY and not agent.wrapping_up:
        return agent
    return replace(
        agent,
        state=ChannelState.NOT_READY,
        reason=None,
        since_ms=agent.since_ms if agent.wrapping_up else now_ms,
        work_mode=AFTER_CALL_WORK,
        wrap_session_id=session_id,
        wrap_until_ms=now_ms + int(wrap_up_s * 1000),
    )


def leave_wrap_up(agent: AgentState, *, disposition_set: bool, required: bool) -> None:
    """May the agent leave wrap-up now (by choosing a state)? Raises ``InvalidState`` when a disposition is
    required and the wrapped-up session has none. Not wrapping up: nothing to check."""
    if agent.wrapping_up and required and not disposition_set:
        raise InvalidState("Set a disposition for the last SMS session before leaving wrap-up")


def wrap_up_due(agent: AgentState, now_ms: int, *, disposition_set: bool, required: bool) -> bool:
    """Has the wrap-up timer run out? A required disposition not set yet keeps the agent wrapping up."""
    if not agent.wrapping_up or agent.wrap_until_ms is None or now_ms < agent.wrap_until_ms:
        return False
    return disposition_set or not required


def set_not_ready_by_system(agent: AgentState, now_ms: int, reason: str) -> AgentState:
    """The server takes a Ready agent out of routing (RONA, presence; docs/routing.md). An agent who is not
    Ready keeps their state and reason (their own NotReady reason is not overwritten)."""
    if agent.state is not ChannelState.READY:
        return agent
    return replace(agent, state=ChannelState.NOT_READY, reason=reason, since_ms=now_ms)


def channel_view(agent: AgentState) -> dict[str, Any]:
    """The channel entry of ``GET /me/channels`` and of ``ChannelStateChangeMessageV2`` (spec §9.3)."""
    display, state_id = _DISPLAY[agent.state]
    user_state: dict[str, Any] = {"displayName": display, "id": state_id, "state": agent.state.value}
    if agent.reason:
        user_state["reason"] = agent.reason
    if agent.wrapping_up:
        user_state["displayName"] = "After Call Work"
        user_state["workMode"] = AFTER_CALL_WORK
        wrap: dict[str, Any] = {"smssessionId": agent.wrap_session_id, "sinceSeconds": agent.since_ms}
        if agent.wrap_until_ms is not None:
            wrap["endsSeconds"] = agent.wrap_until_ms
        user_state["wrapUp"] = wrap  # smsdesk's addition: what is wrapped up, and until when (ms)
    return {"channel": SMS_CHANNEL, "dndState": "Off", "userState": user_state}


def channel_notification(agent: AgentState) -> dict[str, Any]:
    return {"messageType": "ChannelStateChangeMessageV2", "channels": [channel_view(agent)]}
