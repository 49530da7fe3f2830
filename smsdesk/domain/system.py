"""Commands from the system rather than a user: SMS provider, router, supervision, housekeeping.

* ``open_session``: the first inbound text from a number creates a session (customer ``ParticipantJoined``
  plus the ``Text``) and asks for routing.
* ``InboundText``: later texts while the session is open (Queued/Offered/Active).
* ``Offer`` / ``WithdrawOffer``: the router offers the session (or a queue invitation) to one agent, and
  takes it back on timeout; the agent is ``Invited`` with capabilities Accept, Reject.
* ``CloseSession``: the customer opted out, or an operator/inactivity timer closed the session.
* ``SupervisorJoin``: a Monitor/Coach/BargeIn subscription joins on the monitored agent's Accept (planned by
  ``smsdesk/domain/supervision.py``); ``Intrude``: a supervisor is ``Invited`` into a running session.
* ``DeliveryStatus``: the provider's report on an outbound text; failures become a ``Notice`` for agents.
* ``SystemText``: a server-generated text to the customer (auto-replies); it is sent as SMS.
* ``RemoveUser``: the user is gone (their account was deleted, or they are absent past the presence grace):
  they leave the session; the session goes back to its queue when they were the last agent holding it and the
  customer is still there (docs/sessions.md, docs/routing.md).
* ``AutoReply``: the server's answer to a waiting customer (their place in line, or the business hours),
  sent once per session and kind; ``text`` None records it without sending (an opted-out number).
* ``Overflow``: a session waited longer than its queue's ``overflow_after_s``: it moves to the queue's
  ``overflow_to``; its userData says so (``Queue``: the new queue, ``OverflowedFrom``: the queue it waited
  in first; docs/routing.md).

Policy notes are in ``docs/sessions.md`` and ``docs/supervision.md``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from smsdesk.domain._change import Change
from smsdesk.domain.errors import InvalidState, Validation
from smsdesk.domain.outcome import Context, Outcome
from smsdesk.domain.participants import (
    Kind,
    Participant,
    ParticipantRole,
    SupervisionMode,
    UserState,
    Visibility,
    mode_visibility,
)
from smsdesk.domain.sessions import Phase, Session

__all__ = [
    "DELIVERY_STATUSES",
    "AutoReply",
    "CloseSession",
    "DeliveryStatus",
    "InboundText",
    "Intrude",
    "Offer",
    "Overflow",
    "RemoveUser",
    "SupervisorJoin",
    "SystemCommand",
    "SystemText",
    "WithdrawOffer",
    "handle",
    "open_session",
]

DELIVERY_STATUSES = frozenset({"queued", "sent", "delivered", "failed", "undelivered"})
_FAILED = frozenset({"failed", "undelivered"})
_OPEN = frozenset({Phase.QUEUED, Phase.OFFERED, Phase.ACTIVE})


@dataclass(frozen=True)
class InboundText:
    """``media``: the message's pictures (or other media) as the transcript lists them (docs/api.md,
    "Media"); with media the text may be empty."""

    text: str
    media: tuple[Mapping[str, Any], ...] = ()


@dataclass(frozen=True)
class Offer:
    agent_id: str
    nickname: str


@dataclass(frozen=True)
class WithdrawOffer:
    """The offer to ``user_id`` timed out or the router took it back: that user gets ``Revoked``."""

    user_id: str


@dataclass(frozen=True)
class CloseSession:
    reason: str = "closed"  # e.g. "opted_out": shown to agents in a Notice


@dataclass(frozen=True)
class SupervisorJoin:
    supervisor_id: str
    nickname: str
    mode: SupervisionMode
    transcript: Sequence[Mapping[str, Any]] = ()


@dataclass(frozen=True)
class Intrude:
    supervisor_id: str
    nickname: str
    mode: SupervisionMode


@dataclass(frozen=True)
class DeliveryStatus:
    index: int
    status: str  # one of DELIVERY_STATUSES
    detail: str = ""


@dataclass(frozen=True)
class SystemText:
    text: str


@dataclass(frozen=True)
class RemoveUser:
    user_id: str


@dataclass(frozen=True)
class Overflow:
    queue: str


@dataclass(frozen=True)
class AutoReply:
    kind: str  # "queue" (place in line) or "closed" (outside business hours)
    text: str | None  # None: nothing is sent, the reply only counts as given


OVERFLOWED_FROM = "OverflowedFrom"  # userData key: the queue an overflowed session waited in first


SystemCommand = (
    InboundText
    | Offer
    | WithdrawOffer
    | CloseSession
    | SupervisorJoin
    | Intrude
    | DeliveryStatus
    | SystemText
    | RemoveUser
    | Overflow
    | AutoReply
)


def _system_sender(ctx: Context, visibility: Visibility) -> dict[str, Any]:
    return {
        "nickname": ctx.system_nickname,
        "type": "System",
        "participantId": "0" * 16,
        "visibility": visibility.value,
    }


def open_session(
    *,
    customer_number: str,
    business_number: str,
    queue: str,
    text: str,
    customer_nickname: str = "",
    now_ms: int,
    ctx: Context,
    media: tuple[Mapping[str, Any], ...] = (),
) -> Outcome:
    """A first inbound text (``media``: with pictures, then the text may be empty) creates a Queued session
    and asks for routing."""
    for name, value in (
        ("customer number", customer_number),
        ("business number", business_number),
        ("queue", queue),
    ):
        if not isinstance(value, str) or not value.strip():
            raise Validation(f"The {name} must be a non-empty string")
    customer, session = new_session(
        customer_number, business_number, queue, customer_nickname.strip() or customer_number, now_ms, ctx
    )
    ch = Change(session, now_ms=now_ms, ctx=ctx)
    text = ch.text(text, may_be_empty=bool(media))
    ch.post("ParticipantJoined", customer, Visibility.ALL)
    ch.post("Text", customer, Visibility.ALL, text=text, media=media)
    ch.request_route()
    return ch.finish()


def new_session(
    customer_number: str, business_number: str, queue: str, nickname: str, now_ms: int, ctx: Context
) -> tuple[Participant, Session]:
    """A new Queued session with its customer Chatting (the customer texted first, or an agent starts it)."""
    customer = Participant(
        participant_id=ctx.new_participant_id(),
        kind=Kind.CUSTOMER,
        user_id=None,
        nickname=nickname,
        visibility=Visibility.ALL,
        state=UserState.CHATTING,
        role=ParticipantRole.CUSTOMER,
        since_ms=now_ms,
    )
    session = Session(
        id=ctx.new_session_id(),
        customer_number=customer_number,
        business_number=business_number,
        queue=queue,
        phase=Phase.QUEUED,
        participants=(customer,),
        created_ms=now_ms,
        received_ms=now_ms,
        updated_ms=now_ms,
    )
    return customer, session


def handle(session: Session, cmd: SystemCommand, *, now_ms: int, ctx: Context) -> Outcome:
    ch = Change(session, now_ms=now_ms, ctx=ctx)
    if isinstance(cmd, InboundText):
        _require(session, _OPEN, "receive a text")
        text = ch.text(cmd.text, may_be_empty=bool(cmd.media))
        ch.post("Text", session.customer, Visibility.ALL, text=text, media=cmd.media)
    elif isinstance(cmd, SystemText):
        _require(session, _OPEN, "send a system text")
        ch.post("Text", _system_sender(ctx, Visibility.ALL), Visibility.ALL, text=ch.text(cmd.text))
    elif isinstance(cmd, Offer):
        _offer(ch, cmd)
    elif isinstance(cmd, WithdrawOffer):
        p = session.for_user(cmd.user_id)
        if p is None or p.state is not UserState.INVITED:
            raise InvalidState(f"User {cmd.user_id} has no pending offer in SMS session {session.id}")
        ch.actor_id = p.participant_id
        ch.decline(p, UserState.REVOKED)
    elif isinstance(cmd, CloseSession):
        _close(ch, cmd)
    elif isinstance(cmd, SupervisorJoin | Intrude):
        _supervise(ch, cmd)
    elif isinstance(cmd, RemoveUser):
        _remove_user(ch, cmd)
    elif isinstance(cmd, Overflow):
        _overflow(ch, cmd)
    elif isinstance(cmd, AutoReply):
        _auto_reply(ch, cmd)
    else:
        _delivery(ch, cmd)
    return ch.finish()


def _require(session: Session, phases: frozenset[Phase], what: str) -> None:
    if session.phase not in phases:
        raise InvalidState(f"SMS session {session.id} is {session.phase.value}: cannot {what}")


def _new_user(ch: Change, user_id: str, nickname: str, **fields: Any) -> Participant:
    """Router and supervision commands act for the user they add: it gets its notifications first."""
    p = ch.add_user(user_id, nickname, **fields)
    ch.actor_id = p.participant_id
    return p


def _offer(ch: Change, cmd: Offer) -> None:
    s, pend = ch.session, ch.session.pending
    if s.phase is Phase.QUEUED:
        _new_user(
            ch,
            cmd.agent_id,
            cmd.nickname,
            visibility=Visibility.ALL,
            state=UserState.INVITED,
            role=ParticipantRole.OWNER,
        )
        ch.session = ch.session.evolve(phase=Phase.OFFERED)
    elif pend is not None and pend.target_queue is not None and pend.participant_id is None:
        vis = Visibility.AGENTS if pend.kind.role is ParticipantRole.CONSULTANT else Visibility.ALL
        p = _new_user(
            ch,
            cmd.agent_id,
            cmd.nickname,
            visibility=vis,
            state=UserState.INVITED,
            role=pend.kind.role,
            invited_by=pend.by_participant_id,
        )
        ch.session = ch.session.evolve(pending=replace(pend, participant_id=p.participant_id))
    else:
        raise InvalidState(f"SMS session {s.id} is {s.phase.value} and waits for no agent: nothing to offer")


def _close(ch: Change, cmd: CloseSession) -> None:
    _require(ch.session, _OPEN | {Phase.ENDED}, "close it")
    reason = cmd.reason.strip() if isinstance(cmd.reason, str) and cmd.reason.strip() else "closed"
    customer = ch.session.customer
    if customer.state is UserState.CHATTING:
        ch.depart(customer, UserState.LEFT_CHAT)
    ch.post(
        "Notice",
        _system_sender(ch.ctx, Visibility.AGENTS),
        Visibility.AGENTS,
        text=f"SESSION_CLOSED:{reason}",
    )
    ch.withdraw_pending()
    for p in list(ch.session.users()):
        if p.is_agent and p.state is UserState.INVITED:
            ch.set_state(p, UserState.REVOKED)
        elif p.is_agent and p.state is UserState.CHATTING:
            ch.set_state(p, UserState.LEFT_CHAT)
    ch.session = ch.session.evolve(phase=Phase.ENDED)
    ch.close_if_no_agent()


def _remove_user(ch: Change, cmd: RemoveUser) -> None:
    """The user no longer exists. Invited: the offer is declined for them (routed again). A supervisor, or an
    agent beside another agent still holding the session: they leave it (Revoked). The last agent: the session
    goes back to its queue, with its transcript, when the customer is still there; else it is completed."""
    p = ch.session.for_user(cmd.user_id)
    if p is None or p.terminal:
        return
    if p.state is UserState.INVITED:
        ch.decline(p, UserState.REVOKED)
        return
    pend = ch.session.pending
    if pend is not None and pend.by_participant_id == p.participant_id:
        ch.withdraw_pending()  # the consultation or transfer they asked for goes with them
    others = any(
        q.is_agent and q.holding and q.participant_id != p.participant_id for q in ch.session.participants
    )
    last = p.is_agent and not others
    if last and ch.session.phase is Phase.ACTIVE and ch.session.customer.state is UserState.CHATTING:
        ch.depart(p, UserState.REVOKED)
        ch.requeue(ch.session.queue)
        return
    ch.depart(p, UserState.REVOKED)
    if p.is_agent:
        ch.close_if_no_agent()


def _auto_reply(ch: Change, cmd: AutoReply) -> None:
    s = ch.session
    _require(s, frozenset({Phase.QUEUED}), "send an auto-reply")
    if not isinstance(cmd.kind, str) or not cmd.kind:
        raise Validation("An auto-reply needs a kind")
    if cmd.kind in s.auto_replies:
        raise InvalidState(f"SMS session {s.id} already had its '{cmd.kind}' auto-reply")
    if cmd.text is not None:
        ch.post("Text", _system_sender(ch.ctx, Visibility.ALL), Visibility.ALL, text=ch.text(cmd.text))
    ch.session = ch.session.evolve(auto_replies=(*s.auto_replies, cmd.kind))


def _overflow(ch: Change, cmd: Overflow) -> None:
    """Only a session waiting for its first agent (Queued) overflows; the agents who passed on it may be
    offered it in its new queue."""
    s = ch.session
    _require(s, frozenset({Phase.QUEUED}), "overflow")
    if not isinstance(cmd.queue, str) or not cmd.queue.strip():
        raise Validation("The overflow queue must be a non-empty string")
    if cmd.queue == s.queue:
        raise InvalidState(f"SMS session {s.id} is already in queue {cmd.queue}")
    first = s.user_data.get(OVERFLOWED_FROM, s.queue)
    data = {**s.user_data, OVERFLOWED_FROM: first, "Queue": cmd.queue}
    ch.session = s.evolve(queue=cmd.queue, user_data=data, excluded=())
    ch.request_route()


def _supervise(ch: Change, cmd: SupervisorJoin | Intrude) -> None:
    _require(ch.session, frozenset({Phase.ACTIVE}), "be supervised")
    vis = mode_visibility(cmd.mode)
    role = ParticipantRole.SUPERVISOR
    if isinstance(cmd, Intrude):
        _new_user(
            ch,
            cmd.supervisor_id,
            cmd.nickname,
            visibility=vis,
            state=UserState.INVITED,
            role=role,
            mode=cmd.mode,
        )
        return
    p = _new_user(
        ch,
        cmd.supervisor_id,
        cmd.nickname,
        visibility=vis,
        state=UserState.CHATTING,
        role=role,
        mode=cmd.mode,
    )
    ch.replays[p.participant_id] = cmd.transcript
    ch.post("ParticipantJoined", p, vis)


def _delivery(ch: Change, cmd: DeliveryStatus) -> None:
    if (
        isinstance(cmd.index, bool)
        or not isinstance(cmd.index, int)
        or not 1 <= cmd.index < ch.session.next_index
    ):
        raise Validation(f"Delivery status for unknown message index {cmd.index!r}")
    status = cmd.status.strip().lower() if isinstance(cmd.status, str) else ""
    if status not in DELIVERY_STATUSES:
        raise Validation(
            f"Delivery status must be one of {', '.join(sorted(DELIVERY_STATUSES))}; got {cmd.status!r}"
        )
    if status in _FAILED:
        detail = f": {cmd.detail}" if cmd.detail else ""
        sender = _system_sender(ch.ctx, Visibility.AGENTS)
        ch.post("Notice", sender, Visibility.AGENTS, text=f"DELIVERY_FAILED{cmd.index}{detail}")
