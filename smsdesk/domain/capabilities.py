"""Capabilities: which operations a participant may call now. The policy table of the session machine.

``capabilities(session, participant)`` is what every ``smssession`` notification prints, and it is also the
gate: ``smsdesk/domain/transitions.py`` refuses any operation not in it with ``InvalidState`` (statusCode 2),
or with ``NoPermission`` (statusCode 5) when the caller lacks the role (``permission_problem``).

``NEXT_STATE`` says which state the *caller* ends in after a successful operation; the exhaustive test in
``tests/domain/test_transition_table.py`` is generated from these tables. Resolutions of the spec's gaps
(Monitor may not send: spec §10 item 7; capability spellings: §10 item 2) are listed in ``docs/sessions.md``.
"""

from __future__ import annotations

from collections.abc import Mapping

from smsdesk.domain.operations import Operation as Op
from smsdesk.domain.participants import Participant, ParticipantRole, SupervisionMode, UserState, Visibility
from smsdesk.domain.sessions import InviteKind, Session

__all__ = [
    "LEAVE_DEPENDS",
    "NEXT_STATE",
    "SEND_OPERATIONS",
    "capabilities",
    "in_conference",
    "leave_state",
    "permission_problem",
]

_INVITED = (Op.ACCEPT, Op.REJECT)

_USER_DATA = (
    Op.SET_IN_FOCUS,
    Op.SET_DISPOSITION,
    Op.ATTACH_USER_DATA,
    Op.UPDATE_USER_DATA,
    Op.DELETE_USER_DATA,
)
_TO_CUSTOMER = (
    Op.SEND_MESSAGE,
    Op.SEND_URL,
    Op.SEND_START_TYPING,
    Op.SEND_STOP_TYPING,
    Op.SEND_CUSTOM_NOTICE,
)
_TO_AGENTS = (
    Op.SEND_TO_AGENTS,
    Op.SEND_START_TYPING_TO_AGENTS,
    Op.SEND_STOP_TYPING_TO_AGENTS,
    Op.SEND_CUSTOM_NOTICE_TO_AGENTS,
)
_HANDOVER = (Op.TRANSFER, Op.INVITE, Op.CONSULT)

SEND_OPERATIONS = frozenset(_TO_CUSTOMER + _TO_AGENTS)

# Agents (owner / conference member) while Chatting. Consultants get no Complete/Transfer/Invite/Consult:
# they only help and Leave (spec §6.19).
_AGENT_CHATTING = (Op.TRANSFER, Op.COMPLETE, Op.LEAVE_AND_COMPLETE, Op.LEAVE, Op.INVITE, Op.CONSULT)
_CONSULTANT_CHATTING = (Op.LEAVE,)
# LeftChat (spec §6.4): Transfer, Complete, Leave, InFocus, plus the user-data operations.
_LEFT_CHAT = (Op.TRANSFER, Op.COMPLETE, Op.LEAVE)
# Supervisors (spec §4.4 SwitchToCoach sample), in every mode; Monitor drops the send operations.
_SUPERVISOR_CHATTING = (Op.LEAVE, Op.TRANSFER, Op.INVITE, Op.CONSULT)
_SWITCHES = {
    SupervisionMode.MONITOR: Op.SWITCH_TO_MONITOR,
    SupervisionMode.COACH: Op.SWITCH_TO_COACH,
    SupervisionMode.BARGE_IN: Op.SWITCH_TO_BARGE_IN,
}

LEAVE_DEPENDS = "LeftChat if sole agent, else Completed"

# The caller's state after a successful operation; operations not listed leave it unchanged. Transfer to a
# *user* leaves the caller in place until the target accepts (then Completed); to a *queue* -> Completed.
NEXT_STATE: Mapping[UserState, Mapping[Op, UserState | str]] = {
    UserState.INVITED: {Op.ACCEPT: UserState.CHATTING, Op.REJECT: UserState.COMPLETED},
    UserState.CHATTING: {
        Op.COMPLETE: UserState.COMPLETED,
        Op.LEAVE_AND_COMPLETE: UserState.COMPLETED,
        Op.LEAVE: LEAVE_DEPENDS,
    },
    UserState.LEFT_CHAT: {Op.COMPLETE: UserState.COMPLETED, Op.LEAVE: UserState.COMPLETED},
    UserState.COMPLETED: {},
    UserState.REVOKED: {},
}


def in_conference(session: Session, p: Participant) -> bool:
    """Someone else on the agents' side hears this participant: another agent, or a Coach/BargeIn supervisor."""
    return any(
        o.state is UserState.CHATTING
        and o.participant_id != p.participant_id
        and o.mode is not SupervisionMode.MONITOR
        for o in session.users()
    )


def leave_state(session: Session, p: Participant) -> UserState:
    """Leave: supervisors and agents with another agent still Chatting -> Completed; a sole agent -> LeftChat."""
    if p.state is UserState.LEFT_CHAT or p.is_supervisor:
        return UserState.COMPLETED
    others = [a for a in session.chatting_agents() if a.participant_id != p.participant_id]
    return UserState.COMPLETED if others else UserState.LEFT_CHAT


def _removable(session: Session, p: Participant) -> bool:
    return any(
        o.is_agent and o.present and o.participant_id != p.participant_id for o in session.participants
    )


def _originated_consult(session: Session, p: Participant) -> bool:
    pend = session.pending
    if pend is None or pend.kind is not InviteKind.CONSULT or pend.by_participant_id != p.participant_id:
        return False
    invitee = None if pend.participant_id is None else session.by_id(pend.participant_id)
    return invitee is None or invitee.state is UserState.INVITED


def capabilities(session: Session, p: Participant) -> tuple[Op, ...]:
    """The operations ``p`` may call now, in the order printed in notifications."""
    if p.state is UserState.INVITED:
        return _INVITED
    if p.state is UserState.LEFT_CHAT:
        ops = list(_LEFT_CHAT + _USER_DATA)
    elif p.state is not UserState.CHATTING or not p.is_user:
        return ()
    elif p.is_supervisor:
        ops = list(_SUPERVISOR_CHATTING + _USER_DATA)
        if p.mode is not SupervisionMode.MONITOR:
            ops += _TO_AGENTS + _TO_CUSTOMER
        ops += [sw for mode, sw in _SWITCHES.items() if mode is not p.mode]
    else:
        base = _CONSULTANT_CHATTING if p.role is ParticipantRole.CONSULTANT else _AGENT_CHATTING
        ops = list(base + _USER_DATA + _TO_CUSTOMER)
        if in_conference(session, p):
            ops += _TO_AGENTS
        if p.visibility is Visibility.ALL and _removable(session, p):
            ops.append(Op.REMOVE_PARTICIPANT)
        if _originated_consult(session, p):
            ops.append(Op.CANCEL_CONSULT)
    if session.pending is not None:  # one agent invitation at a time
        ops = [op for op in ops if op not in _HANDOVER]
    return tuple(ops)


def permission_problem(session: Session, p: Participant, op: Op) -> str | None:
    """Why ``p`` lacks the *role* for ``op`` (-> NoPermission), or None."""
    if op in _SWITCHES.values() and not p.is_supervisor:
        return f"{op.value} is for supervisors only"
    if op is Op.REMOVE_PARTICIPANT and (not p.is_agent or p.visibility is not Visibility.ALL):
        return "Only an agent visible to all may remove a participant from the conference"
    pend = session.pending
    if op is Op.CANCEL_CONSULT and pend is not None and pend.kind is InviteKind.CONSULT:
        if pend.by_participant_id != p.participant_id:
            return "Only the agent who started the consultation may cancel it"
    return None
