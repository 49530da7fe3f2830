"""Agent-started conversations (docs/api.md, "Agent-started conversations"): a new session with the customer
and the agent already Chatting, and the agent's first text on its way. Pure: no I/O.

Built from the same steps an inbound conversation goes through (the customer joins, the agent is offered the
session and accepts it, then sends), so its notifications, transcript, capabilities and the supervisors'
monitoring are those of any session; only the customer's first text and the offer's notification (nothing
rings) are missing."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from smsdesk.domain._change import Change
from smsdesk.domain.errors import MissingParameter, Validation
from smsdesk.domain.operations import Operation
from smsdesk.domain.outcome import Context, Outcome
from smsdesk.domain.participants import Visibility
from smsdesk.domain.system import Offer, new_session
from smsdesk.domain.transitions import UserOperation, apply

__all__ = ["CREATE", "parse_create", "start_conversation"]

CREATE = "create"


def parse_create(body: Mapping[str, Any], max_text: int) -> tuple[Any, Any, str]:
    """``{"operationName": "Create", "customerNumber", "businessNumber", "text"}``: the two numbers as sent
    (the caller normalises them) and the text."""
    name = body.get("operationName")
    if name is None:
        raise MissingParameter("Missing parameter 'operationName'")
    if not isinstance(name, str) or name.strip().casefold() != CREATE:
        raise Validation("'operationName' must be 'Create' to start a conversation")
    for key in ("customerNumber", "businessNumber", "text"):
        if body.get(key) is None:
            raise MissingParameter(f"Missing parameter '{key}'")
    text = body["text"]
    if not isinstance(text, str) or not text.strip():
        raise Validation("'text' must be a non-empty string")
    if len(text) > max_text:
        raise Validation(f"'text' must be at most {max_text} characters")
    return body["customerNumber"], body["businessNumber"], text


def start_conversation(
    *,
    customer_number: str,
    business_number: str,
    queue: str,
    agent_id: str,
    nickname: str,
    text: str,
    provider: str,
    user_data: Mapping[str, Any],
    now_ms: int,
    ctx: Context,
) -> Outcome:
    """The session, with the customer and ``agent_id`` (its owner) Chatting and ``text`` sent by the agent."""
    customer, session = new_session(customer_number, business_number, queue, customer_number, now_ms, ctx)
    session = session.evolve(user_data={**user_data, "InteractionId": session.id}, provider=provider)
    ch = Change(session, now_ms=now_ms, ctx=ctx)
    ch.post("ParticipantJoined", customer, Visibility.ALL)
    out = ch.finish()
    offered = apply(out.session, Offer(agent_id, nickname), now_ms=now_ms, ctx=ctx)
    # the agent is not offered what they start: no Invited notification (nothing rings), Chatting at once
    out = out.then(replace(offered, notifications=()))
    accept = UserOperation(agent_id, Operation.ACCEPT, {}, transcript=list(out.messages))
    out = out.then(apply(out.session, accept, now_ms=now_ms, ctx=ctx))
    send = UserOperation(agent_id, Operation.SEND_MESSAGE, {"text": text})
    out = out.then(apply(out.session, send, now_ms=now_ms, ctx=ctx))
    return replace(out, route=None)
