"""SMS session use cases for agents and supervisors: operations (``POST /api/v2/me/smssessions/{id}``) and
reads (the session resource, lists, the transcript). The policy is in the domain (``smsdesk/domain/``); this
module checks what the domain cannot know (users exist, roles, features) and drives the engine."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from smsdesk.actions import wrapup
from smsdesk.actions.access import access_user_by_id, require_feature
from smsdesk.actions.engine import (
    apply_command,
    load_session,
    next_reference,
    require_not_opted_out,
    require_reopenable,
    run_on_session,
    stored_transcript,
)
from smsdesk.domain.capabilities import capabilities
from smsdesk.domain.errors import InvalidState, NotFound, Validation
from smsdesk.domain.operations import Operation, parse_operation
from smsdesk.domain.outcome import Outcome
from smsdesk.domain.participants import Participant, UserState
from smsdesk.domain.sessions import Phase, Session
from smsdesk.domain.transitions import UserOperation, parse_target
from smsdesk.domain.users import Principal, Role
from smsdesk.domain.views import (
    format_timestamp,
    offer_view,
    participant_wire,
    session_path,
    session_uri,
    state_change,
    visible_messages,
)
from smsdesk.runtime import Runtime

__all__ = [
    "check_session_operation",
    "list_sessions_of",
    "read_transcript",
    "session_resource",
    "session_view_for",
]

_TARGETED = {Operation.INVITE, Operation.CONSULT, Operation.TRANSFER}
_NEEDS_TRANSCRIPT = {Operation.ACCEPT}
_ENDS_WORK = {Operation.COMPLETE, Operation.LEAVE_AND_COMPLETE, Operation.LEAVE}


async def _target_nickname(rt: Runtime, op: Operation, params: Mapping[str, Any]) -> str:
    """Invite/Consult/Transfer to a user: the user must exist and be an agent; returns its display name."""
    if op not in _TARGETED:
        return ""
    user_id, _queue = parse_target(params, allow_queue_name=op is Operation.TRANSFER)
    if user_id is None:
        return ""
    user = await access_user_by_id(rt.store, user_id)
    if not user.has(Role.AGENT):
        raise InvalidState(f"User '{user.user_name}' is not an agent and cannot take SMS sessions")
    if not user.enabled:
        raise InvalidState(f"User '{user.user_name}' is disabled")
    return user.display_name


async def check_session_operation(
    rt: Runtime, principal: Principal, session_id: str, body: Mapping[str, Any]
) -> dict[str, Any]:
    """Run one agent or supervisor operation; returns the extra fields of the HTTP response."""
    require_feature(rt.settings, "api-multimedia")
    op = parse_operation(body.get("operationName"))
    nickname = await _target_nickname(rt, op, body)
    wrapping_up = False
    if op is Operation.SET_DISPOSITION and rt.settings.wrap_up_s > 0:
        agent = await rt.store.get_agent(principal.user_id)
        wrapping_up = agent is not None and agent.wrapping_up and agent.wrap_session_id == session_id

    blocks = rt.reference_blocks
    reserved = await blocks.take(principal.user_id) if blocks is not None else None

    async def decide(session: Session) -> Outcome:
        _require_visible(principal, session)
        transcript = await stored_transcript(rt, session.id, session) if op in _NEEDS_TRANSCRIPT else ()
        cmd = UserOperation(
            principal.user_id,
            op,
            body,
            transcript=transcript,
            target_nickname=nickname,
            wrapping_up=wrapping_up,
            reference_id=reserved if reserved is not None else next_reference(rt, principal.user_id),
        )
        out = apply_command(rt, session, cmd)
        if op is Operation.TRANSFER and session.phase is Phase.ENDED:
            await require_reopenable(rt, session)  # the target's Accept would reopen it: refuse now, not then
        return out

    try:
        # one request of a user at a time in this process: each is decided with the referenceId the one
        # before it took (``next_reference``); the session's own lock is taken inside this one
        out = await rt.session_locks(
            f"user:{principal.user_id}", lambda: run_on_session(rt, session_id, decide)
        )
    except InvalidState:
        if op is Operation.SEND_MESSAGE:
            # STOP closed the session for its agents: say why nothing can be sent, not just "LeftChat"
            _, rec = await load_session(rt, session_id)
            await require_not_opted_out(rt, rec.customer)
        raise
    if op in _ENDS_WORK and rt.settings.wrap_up_s > 0:
        me = out.session.for_user(principal.user_id)
        if me is not None and me.is_agent and me.state is UserState.COMPLETED:
            await wrapup.after_session_done(rt, principal.user_id, principal.user_name, session_id)
    return dict(out.response)


def _require_visible(principal: Principal, session: Session) -> None:
    """Unknown session and a session the caller has no part in look the same: not found."""
    if session.for_user(principal.user_id) is None and not principal.is_supervisor:
        raise NotFound(f"SMS session '{session.id}' not found")


def session_view_for(rt: Runtime, session: Session, viewer: Participant) -> dict[str, Any]:
    offer = offer_view(session, viewer, int(rt.settings.offer_timeout_s * 1000))
    obj: dict[str, Any] = state_change(
        "StatusChange", session, viewer, capabilities(session, viewer), rt.settings.base_url, offer=offer
    )["smssession"]
    return obj


_PHASE_STATE = {
    "Queued": "Invited",
    "Offered": "Invited",
    "Active": "Chatting",
    "Ended": "LeftChat",
    "Closed": "Completed",
}


def _observer_view(rt: Runtime, session: Session, holder: Participant | None = None) -> dict[str, Any]:
    """A supervisor reading a session it is not in (GetAgentInteractions): everything, no capabilities.

    ``state`` is a GWS state: the state of the agent whose sessions are listed, or else the one that matches
    the session's phase (Queued/Offered → Invited, Active → Chatting, Ended → LeftChat, Closed → Completed).
    """
    return {
        "id": session.id,
        "uri": session_uri(rt.settings.base_url, session.id),
        "path": session_path(session.id),
        "state": holder.state.value if holder is not None else _PHASE_STATE[session.phase.value],
        "capabilities": [],
        "participants": [
            participant_wire(p, rt.settings.base_url) for p in session.participants if p.present
        ],
        "userData": dict(session.user_data),
        "receivedDate": format_timestamp(session.received_ms),
        "chatType": "Inbound",
    }


async def session_resource(rt: Runtime, principal: Principal, session_id: str) -> dict[str, Any]:
    session, _ = await load_session(rt, session_id)
    me = session.for_user(principal.user_id)
    if me is not None:
        return session_view_for(rt, session, me)
    if principal.is_supervisor:
        return _observer_view(rt, session)
    raise NotFound(f"SMS session '{session_id}' not found")


async def list_sessions_of(rt: Runtime, user_id: str, *, observer: bool = False) -> list[dict[str, Any]]:
    """The sessions ``user_id`` holds: their own view, or (``observer``) a supervisor's view of them."""
    out = []
    for rec in await rt.store.list_member_sessions(user_id):
        session = Session.from_json(rec.data)
        me = session.for_user(user_id)
        if me is None:
            continue
        out.append(_observer_view(rt, session, me) if observer else session_view_for(rt, session, me))
    return out


def _int_param(raw: str | None, name: str, default: int | None) -> int | None:
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise Validation(f"'{name}' must be an integer") from None
    if value < 0:
        raise Validation(f"'{name}' must not be negative")
    if value >= 2**63:
        raise Validation(f"'{name}' must be below 2^63")
    return value


async def read_transcript(
    rt: Runtime, principal: Principal, session_id: str, start_index: str | None, count: str | None
) -> list[dict[str, Any]]:
    start = _int_param(start_index, "startIndex", 0) or 0
    limit = _int_param(count, "count", None)
    session, _ = await load_session(rt, session_id)
    me = session.for_user(principal.user_id)
    if me is None and not principal.is_supervisor:
        raise NotFound(f"SMS session '{session_id}' not found")
    if me is not None and me.terminal and me.is_agent:
        messages = [
            m for m in _shown_until_done(await rt.store.read_messages(session_id), me) if m["index"] >= start
        ]
    else:
        messages = list(await rt.store.read_messages(session_id, start))
    visible = visible_messages(messages, me) if me is not None else [dict(m) for m in messages]
    return visible[:limit] if limit is not None else visible


def _shown_until_done(messages: Sequence[Mapping[str, Any]], me: Participant) -> list[Mapping[str, Any]]:
    """An agent that is done (Completed, Revoked) reads what it was shown, not what the others said after it
    left: up to its own last ``ParticipantLeft``, or (it never joined) up to the moment its state ended."""
    pid = me.participant_id
    left = [
        m["index"]
        for m in messages
        if m["type"] == "ParticipantLeft" and m["from"].get("participantId") == pid
    ]
    if left:
        return [m for m in messages if m["index"] <= left[-1]]
    return [m for m in messages if m["timestampSeconds"] <= me.since_ms]
