"""User operations on an SMS session (``POST /api/v2/me/smssessions/{id}``) and the ``apply`` dispatcher.

Every operation is checked the same way before anything changes: the caller must be a participant
(``NoPermission``), have the role (``NoPermission``, see ``capabilities.permission_problem``), and find the
operation in its current capabilities (``InvalidState``); parameters are then validated (``MissingParameter``,
``Validation``). The capability and next-state tables are in ``smsdesk/domain/capabilities.py``; router,
SMS-provider and supervision commands are in ``smsdesk/domain/system.py``; decisions in ``docs/sessions.md``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from smsdesk.domain import system
from smsdesk.domain._change import Change
from smsdesk.domain._fields import get_bool, get_list, get_mapping, get_opt_str, get_str
from smsdesk.domain.capabilities import SEND_OPERATIONS, capabilities, leave_state, permission_problem
from smsdesk.domain.errors import InvalidState, MissingParameter, NoPermission, Validation
from smsdesk.domain.operations import Operation as Op
from smsdesk.domain.outcome import Context, Outcome, RouteRequest
from smsdesk.domain.participants import (
    Participant,
    SupervisionMode,
    UserState,
    Visibility,
    mode_visibility,
)
from smsdesk.domain.sessions import InviteKind, PendingInvite, Phase, Session

__all__ = ["Command", "UserOperation", "apply", "parse_target"]


@dataclass(frozen=True)
class UserOperation:
    """An agent or supervisor calls ``operation`` with the request body ``params``."""

    user_id: str
    operation: Op
    params: Mapping[str, Any] = field(default_factory=dict)
    transcript: Sequence[Mapping[str, Any]] = ()  # the transcript so far: Accept replays it to the caller
    target_nickname: str = ""  # display name of the Invite/Consult/Transfer target user, if known
    wrapping_up: bool = (
        False  # the caller is in wrap-up for this very session (SetDisposition after Complete)
    )
    reference_id: int | None = None  # the user's next referenceId (the store counts them; None: the session)


Command = (
    UserOperation
    | system.InboundText
    | system.Offer
    | system.WithdrawOffer
    | system.CloseSession
    | system.SupervisorJoin
    | system.Intrude
    | system.DeliveryStatus
    | system.SystemText
    | system.RemoveUser
    | system.Overflow
    | system.AutoReply
)


def apply(session: Session, command: Command, *, now_ms: int, ctx: Context) -> Outcome:
    """Run one command against ``session``; illegal ones raise a ``smsdesk.domain.errors`` exception."""
    if isinstance(command, UserOperation):
        return _operate(session, command, now_ms=now_ms, ctx=ctx)
    return system.handle(session, command, now_ms=now_ms, ctx=ctx)


def _operate(session: Session, cmd: UserOperation, *, now_ms: int, ctx: Context) -> Outcome:
    actor = session.for_user(cmd.user_id)
    if actor is None:
        raise NoPermission(f"User {cmd.user_id} is not a participant of SMS session {session.id}")
    op = cmd.operation
    problem = permission_problem(session, actor, op)
    if problem is not None:
        raise NoPermission(problem)
    if op not in capabilities(session, actor) and not _wrap_up_disposition(actor, cmd):
        raise InvalidState(_refusal(session, actor, op))
    ch = Change(session, now_ms=now_ms, ctx=ctx, actor=actor)
    ch.answer_with_reference(cmd.user_id, cmd.reference_id)
    _HANDLERS[op](ch, actor, cmd)
    return ch.finish()


def _wrap_up_disposition(actor: Participant, cmd: UserOperation) -> bool:
    """During wrap-up the agent who completed the session may still set its disposition (docs/ui.md)."""
    return (
        cmd.wrapping_up
        and cmd.operation is Op.SET_DISPOSITION
        and actor.is_agent
        and actor.state is UserState.COMPLETED
    )


def _refusal(session: Session, p: Participant, op: Op) -> str:
    if op in SEND_OPERATIONS and p.mode is SupervisionMode.MONITOR and p.state is UserState.CHATTING:
        return f"{op.value}: a supervisor in Monitor mode cannot send; switch to Coach or BargeIn first"
    if (
        op in (Op.TRANSFER, Op.INVITE, Op.CONSULT)
        and session.pending is not None
        and p.state is UserState.CHATTING
    ):
        return f"{op.value}: another invitation ({session.pending.kind.value}) is still pending"
    return f"{op.value} is not possible for a participant in state {p.state.value}"


# -- parameters --------------------------------------------------------------------------------------

_USER_PATH = re.compile(r"(?:^|/)users/([^/?#\s]+)/?$")
_QUEUE_PATH = re.compile(r"(?:^|/)queues/([^/?#\s]+)/?$")


def parse_target(
    params: Mapping[str, Any], *, allow_queue_name: bool = True
) -> tuple[str | None, str | None]:
    """``(user_id, None)`` or ``(None, queue)`` from ``targetUri``/``targetPath``/``userUri``/``queueName``."""
    if allow_queue_name and params.get("queueName") is not None:
        return None, get_str(params, "queueName")
    for key in ("targetUri", "targetPath", "userUri"):
        if params.get(key) is not None:
            raw = get_str(params, key).strip()
            if m := _USER_PATH.search(raw):
                return m.group(1), None
            if m := _QUEUE_PATH.search(raw):
                return None, m.group(1)
            raise Validation(f"'{key}' must name a user (.../users/{{id}}) or a queue (.../queues/{{name}})")
    raise MissingParameter(
        "Missing parameter 'targetUri' (or 'targetPath'" + (", 'queueName')" if allow_queue_name else ")")
    )


def _known_queue(ch: Change, queue: str) -> str:
    known = ch.ctx.queues
    if known is not None and queue not in known:
        raise Validation(f"Unknown queue '{queue}'; the queues are: {', '.join(sorted(known))}")
    return queue


def _text(ch: Change, params: Mapping[str, Any], key: str) -> str:
    return ch.text(get_str(params, key), key)


def _send_visibility(p: Participant) -> Visibility:
    """Owner/conference/BargeIn speak to all; consultants and Coach supervisors to agents only."""
    return Visibility.ALL if p.visibility is Visibility.ALL else Visibility.AGENTS


def _check_user_data(data: Mapping[str, Any]) -> dict[str, Any]:
    if not data:
        raise Validation("'userData' must not be empty")
    for key, value in data.items():
        if not isinstance(key, str) or not key:
            raise Validation("'userData' keys must be non-empty strings")
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise Validation(f"userData '{key}': values must be strings or numbers")
    return dict(data)


# -- handlers ----------------------------------------------------------------------------------------

Handler = Callable[[Change, Participant, UserOperation], None]


def _accept(ch: Change, actor: Participant, cmd: UserOperation) -> None:
    nickname = get_opt_str(cmd.params, "nickname")
    save_lar = get_bool(cmd.params, "saveLAR")
    p = ch.set_state(actor, UserState.CHATTING, nickname=(nickname or "").strip() or actor.nickname)
    ch.replays[p.participant_id] = cmd.transcript
    pend = ch.session.pending
    if pend is not None and pend.participant_id == p.participant_id:
        ch.session = ch.session.evolve(pending=None, excluded=())
        if pend.kind is InviteKind.TRANSFER:
            source = ch.get(pend.by_participant_id)
            if not source.terminal:
                ch.depart(source, UserState.COMPLETED)
            drop_disposition(ch)
    ch.post("ParticipantJoined", p, p.visibility)
    if p.is_agent:
        if ch.session.phase is not Phase.ACTIVE:
            ch.session = ch.session.evolve(phase=Phase.ACTIVE, excluded=())
        if save_lar:
            ch.session = ch.session.evolve(lar_agent_id=p.user_id)
        ch.accepted_by = p.user_id


def _reject(ch: Change, actor: Participant, cmd: UserOperation) -> None:
    ch.decline(actor, UserState.COMPLETED)


def _finish_agent(ch: Change, actor: Participant, state: UserState) -> None:
    """``actor`` is done (Completed): its own pending invitation goes too; maybe nobody holds the session."""
    ch.depart(actor, state)
    pend = ch.session.pending
    if pend is not None and pend.by_participant_id == actor.participant_id:
        ch.withdraw_pending()
    if state is UserState.LEFT_CHAT:
        ch.end_for_customer()
    elif actor.is_agent:
        ch.close_if_no_agent()


def _complete(ch: Change, actor: Participant, cmd: UserOperation) -> None:
    queue = get_str(cmd.params, "queueName") if cmd.params.get("queueName") is not None else None
    if queue is not None:
        _known_queue(ch, queue)
    if get_bool(cmd.params, "saveLAR") and actor.is_agent:
        ch.session = ch.session.evolve(lar_agent_id=actor.user_id)
    if queue is not None:
        ch.depart(actor, UserState.COMPLETED)
        ch.requeue(queue)
    else:
        _finish_agent(ch, actor, UserState.COMPLETED)


def _leave(ch: Change, actor: Participant, cmd: UserOperation) -> None:
    _finish_agent(ch, actor, leave_state(ch.session, actor))


def _leave_and_complete(ch: Change, actor: Participant, cmd: UserOperation) -> None:
    _finish_agent(ch, actor, UserState.COMPLETED)


def _sender(kind: str, key: str | None, fixed: Visibility | None = None) -> Handler:
    def send(ch: Change, actor: Participant, cmd: UserOperation) -> None:
        vis = fixed or _send_visibility(actor)
        value = None if key is None else _text(ch, cmd.params, key)
        if key is None and cmd.params.get("text") is not None:
            value = _text(ch, cmd.params, "text")  # typing preview
        if kind == "PushUrl":
            assert value is not None
            if not re.match(r"^https?://\S+$", value):
                raise Validation("'url' must be an http:// or https:// URL without spaces")
            ch.post(kind, actor, vis, url=value)
        elif kind == "CustomNotice":
            ch.post(kind, actor, vis, notice_text=value)
        else:
            ch.post(kind, actor, vis, text=value)

    return send


def _bounded(ch: Change, user_data: dict[str, Any]) -> dict[str, Any]:
    """``user_data`` when within ``ctx.user_data_limits``; ``Validation`` (statusCode 10) otherwise."""
    limits = ch.ctx.user_data_limits
    if len(user_data) > limits.max_keys:
        raise Validation(f"userData would hold {len(user_data)} keys; at most {limits.max_keys} are allowed")
    for key, value in user_data.items():
        if len(key) > limits.max_key_length:
            raise Validation(
                f"userData key '{key[:40]}...' is longer than {limits.max_key_length} characters"
            )
        size = len(value) if isinstance(value, str) else len(json.dumps(value))
        if size > limits.max_value_length:
            raise Validation(
                f"userData '{key}': the value is longer than {limits.max_value_length} characters"
            )
    total = len(json.dumps(user_data, ensure_ascii=False, separators=(",", ":")).encode())
    if total > limits.max_bytes:
        raise Validation(f"userData would take {total} bytes; at most {limits.max_bytes} are allowed")
    return user_data


def _attach(ch: Change, actor: Participant, cmd: UserOperation) -> None:
    data = _check_user_data(get_mapping(cmd.params, "userData"))
    ch.session = ch.session.evolve(user_data=_bounded(ch, {**ch.session.user_data, **data}))
    ch.properties_touched = True


def _delete(ch: Change, actor: Participant, cmd: UserOperation) -> None:
    keys = get_list(cmd.params, "keys")
    if not keys or not all(isinstance(k, str) and k for k in keys):
        raise Validation("'keys' must be a non-empty array of key names")
    ch.session = ch.session.evolve(user_data={k: v for k, v in ch.session.user_data.items() if k not in keys})
    ch.properties_touched = True


def _disposition(ch: Change, actor: Participant, cmd: UserOperation) -> None:
    value = get_str(cmd.params, "disposition")
    key = get_opt_str(cmd.params, "dispositionKey")
    key = key.strip() if key and key.strip() else ch.ctx.disposition_key
    ch.session = ch.session.evolve(user_data=_bounded(ch, {**ch.session.user_data, key: value}))
    ch.properties_touched = True


def _in_focus(ch: Change, actor: Participant, cmd: UserOperation) -> None:
    """Accepted and recorded nowhere: focus is a desktop concern (no notification)."""


def _invite_user(
    ch: Change, actor: Participant, kind: InviteKind, user_id: str, cmd: UserOperation, note: str | None
) -> None:
    if user_id == actor.user_id:
        raise Validation(f"{kind.value}: you cannot target yourself")
    p = ch.add_user(
        user_id,
        cmd.target_nickname,
        visibility=Visibility.AGENTS if kind is InviteKind.CONSULT else Visibility.ALL,
        state=UserState.INVITED,
        role=kind.role,
        invited_by=actor.participant_id,
    )
    pend = PendingInvite(kind, actor.participant_id, user_id, None, p.participant_id, ch.reference_id, note)
    ch.session = ch.session.evolve(pending=pend)


def _invite_queue(ch: Change, actor: Participant, kind: InviteKind, queue: str, note: str | None) -> None:
    present = tuple(p.user_id for p in ch.session.users() if p.present and p.user_id is not None)
    pend = PendingInvite(kind, actor.participant_id, None, queue, None, ch.reference_id, note)
    ch.session = ch.session.evolve(pending=pend, excluded=present)
    ch.route = RouteRequest(queue, kind, present)


def _handover_note(ch: Change, actor: Participant, cmd: UserOperation, kind: InviteKind) -> str | None:
    """The optional ``text`` of Transfer / Invite / Consult, shown to the agent who is offered the session
    (``offer.text``) and posted as a ``Text``. Transfer's ``text`` goes to the customer too, as the GWS chat
    page says, unless ``visibility`` is ``"Agents"`` (smsdesk's addition: a note for the next agent only);
    Invite's and Consult's (not in GWS) are always agents-only (docs/sessions.md)."""
    vis_param = get_opt_str(cmd.params, "visibility")
    if vis_param is not None and vis_param not in ("All", "Agents"):
        raise Validation("'visibility' must be 'All' or 'Agents'")
    if cmd.params.get("text") is None:
        return None
    if actor.mode is SupervisionMode.MONITOR:
        raise InvalidState(f"{kind.value}: a supervisor in Monitor mode cannot send text")
    note = _text(ch, cmd.params, "text")
    to_all = kind is InviteKind.TRANSFER and vis_param != "Agents"
    ch.post("Text", actor, _send_visibility(actor) if to_all else Visibility.AGENTS, text=note)
    return note


def drop_disposition(ch: Change) -> None:
    """A transfer hands the session over: the disposition set so far is the previous agent's, not carried
    to the next one unless ``transfer_keeps_disposition`` (docs/ui.md)."""
    key = ch.ctx.disposition_key
    if not ch.ctx.transfer_keeps_disposition and key in ch.session.user_data:
        ch.session = ch.session.evolve(user_data={k: v for k, v in ch.session.user_data.items() if k != key})
        ch.properties_touched = True


def _handover(kind: InviteKind) -> Handler:
    def handover(ch: Change, actor: Participant, cmd: UserOperation) -> None:
        # Invite and Consult name a queue as `targetUri: .../queues/{name}` only, as the action that checks
        # the target before the session is read (`actions/sessions.py`) does
        user_id, queue = parse_target(cmd.params, allow_queue_name=kind is InviteKind.TRANSFER)
        if queue is not None:
            _known_queue(ch, queue)
        if ch.session.pending is not None:  # capabilities let only its asker here: the new one replaces it
            ch.supersede_pending(kind.value)
        note = _handover_note(ch, actor, cmd, kind)
        if user_id is not None:
            _invite_user(ch, actor, kind, user_id, cmd, note)
        elif kind is InviteKind.TRANSFER:
            assert queue is not None
            ch.depart(actor, UserState.COMPLETED)
            drop_disposition(ch)
            ch.requeue(queue)
        else:
            assert queue is not None
            _invite_queue(ch, actor, kind, queue, note)

    return handover


def _cancel_consult(ch: Change, actor: Participant, cmd: UserOperation) -> None:
    ch.quiet_actor = True  # spec §6.20a: no notification on success
    ch.withdraw_pending()


def _remove(ch: Change, actor: Participant, cmd: UserOperation) -> None:
    user_id, _ = parse_target(cmd.params, allow_queue_name=False)
    target = None if user_id is None else ch.session.for_user(user_id)
    if (
        target is None
        or not target.is_agent
        or not target.present
        or target.participant_id == actor.participant_id
    ):
        raise Validation(f"RemoveParticipantFromConference: {user_id} is not another agent in this session")
    ch.post("Notice", actor, Visibility.AGENTS, text=f"REMOVE_PARTICIPANT_FROM_CONFERENCE{user_id}")
    pend = ch.session.pending
    if pend is not None and target.participant_id in (pend.participant_id, pend.by_participant_id):
        ch.withdraw_pending()
    ch.depart(target, UserState.REVOKED)


_BREADTH = {Visibility.SUPERVISORS: 0, Visibility.AGENTS: 1, Visibility.ALL: 2}


def _switch(mode: SupervisionMode) -> Handler:
    def switch(ch: Change, actor: Participant, cmd: UserOperation) -> None:
        new_vis = mode_visibility(mode)
        p = ch.set_state(actor, UserState.CHATTING, mode=mode, visibility=new_vis)
        if _BREADTH[new_vis] > _BREADTH[actor.visibility]:
            ch.post("ParticipantJoined", p, new_vis)
        else:
            ch.post("ParticipantLeft", actor, actor.visibility)

    return switch


_HANDLERS: dict[Op, Handler] = {
    Op.ACCEPT: _accept,
    Op.REJECT: _reject,
    Op.COMPLETE: _complete,
    Op.LEAVE: _leave,
    Op.LEAVE_AND_COMPLETE: _leave_and_complete,
    Op.SEND_MESSAGE: _sender("Text", "text"),
    Op.SEND_URL: _sender("PushUrl", "url"),
    Op.SEND_START_TYPING: _sender("TypingStarted", None),
    Op.SEND_STOP_TYPING: _sender("TypingStopped", None),
    Op.SEND_CUSTOM_NOTICE: _sender("CustomNotice", "noticeText"),
    Op.SEND_TO_AGENTS: _sender("Text", "text", Visibility.AGENTS),
    Op.SEND_START_TYPING_TO_AGENTS: _sender("TypingStarted", None, Visibility.AGENTS),
    Op.SEND_STOP_TYPING_TO_AGENTS: _sender("TypingStopped", None, Visibility.AGENTS),
    Op.SEND_CUSTOM_NOTICE_TO_AGENTS: _sender("CustomNotice", "noticeText", Visibility.AGENTS),
    Op.ATTACH_USER_DATA: _attach,
    Op.UPDATE_USER_DATA: _attach,
    Op.DELETE_USER_DATA: _delete,
    Op.SET_DISPOSITION: _disposition,
    Op.SET_IN_FOCUS: _in_focus,
    Op.TRANSFER: _handover(InviteKind.TRANSFER),
    Op.INVITE: _handover(InviteKind.CONFERENCE),
    Op.CONSULT: _handover(InviteKind.CONSULT),
    Op.CANCEL_CONSULT: _cancel_consult,
    Op.REMOVE_PARTICIPANT: _remove,
    Op.SWITCH_TO_MONITOR: _switch(SupervisionMode.MONITOR),
    Op.SWITCH_TO_COACH: _switch(SupervisionMode.COACH),
    Op.SWITCH_TO_BARGE_IN: _switch(SupervisionMode.BARGE_IN),
}
