"""Agent-started conversations, smsdesk's extension (docs/api.md, "Agent-started conversations"):
``POST /api/v2/me/smssessions`` ``{"operationName": "Create", "customerNumber", "businessNumber", "text"}``.

The refusals, checked in this order: a body without the members (statusCode 1) or with a bad one (10); a
number ``phonenumbers`` calls impossible (10); a caller without the agent role (5); a business number that is
not ours, i.e. bound to none of our providers by name nor mapped to a queue (6); a customer who opted out (3,
as for SendMessage); an agent without an SMS channel session (LoggedOut: 2); an agent at capacity (19); a
customer with a conversation open on that business number already (18, naming it)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from smsdesk.actions.access import require_feature
from smsdesk.actions.engine import context, persist_outcome, require_not_opted_out
from smsdesk.actions.sessions import session_view_for
from smsdesk.domain.agents import ChannelState
from smsdesk.domain.errors import AlreadyExists, InUse, InvalidState, NoPermission, NotFound, Validation
from smsdesk.domain.outbound import parse_create, start_conversation
from smsdesk.domain.users import Principal, Role
from smsdesk.runtime import Runtime
from smsdesk.sms.numbers import InvalidNumber, normalize_e164
from smsdesk.store.base import ConcurrentUpdate

__all__ = ["check_create_session"]


def _number(raw: Any, member: str) -> str:
    try:
        return normalize_e164(raw)
    except InvalidNumber as exc:
        raise Validation(f"'{member}': {exc.message}") from None


async def check_create_session(rt: Runtime, principal: Principal, body: Mapping[str, Any]) -> dict[str, Any]:
    """Create the session; returns its resource as the agent sees it (Chatting)."""
    require_feature(rt.settings, "api-multimedia")
    ctx = context(rt)
    raw_customer, raw_business, text = parse_create(body, ctx.max_text_length)
    customer = _number(raw_customer, "customerNumber")
    business = _number(raw_business, "businessNumber")
    user = await rt.store.get_user(principal.user_id)
    if user is None or not user.has(Role.AGENT):
        raise NoPermission("Only agents start conversations (ROLE_AGENT)")
    if not (rt.owns_number(business) or business in rt.settings.number_queues):
        raise NotFound(f"The business number {business} is not one of ours")
    provider = rt.provider_name_for(business)
    if not rt.provider_available(provider):
        raise InvalidState(f"No SMS provider serves the business number {business}")
    await require_not_opted_out(rt, customer)
    agent = await rt.store.get_agent(user.id)
    if agent is None or agent.state is ChannelState.LOGGED_OUT:
        raise InvalidState("No SMS channel session: start one first (StartContactCenterSession)")
    capacity = user.capacity or rt.settings.default_capacity
    load = (await rt.store.agent_loads()).get(user.id, 0)
    if load >= capacity:
        raise InUse(f"At capacity: {load} of {capacity} conversations held")
    found = await rt.store.find_open_session(customer, business)
    if found is not None:
        raise AlreadyExists(f"The customer has an open SMS session on {business} already: {found.id}")
    out = start_conversation(
        customer_number=customer,
        business_number=business,
        queue=rt.settings.queue_for(business),
        agent_id=user.id,
        nickname=user.display_name,
        text=text,
        provider=provider,
        user_data={
            "CustomerNumber": customer,
            "BusinessNumber": business,
            "ContactId": customer,
            "Queue": rt.settings.queue_for(business),
            "Provider": provider,
            "StartedBy": user.user_name,
        },
        now_ms=rt.clock.now_ms(),
        ctx=ctx,
    )
    try:
        out = await persist_outcome(rt, None, out)
    except ConcurrentUpdate:
        raise AlreadyExists(f"The customer has an open SMS session on {business} already") from None
    me = out.session.for_user(user.id)
    if me is None:  # pragma: no cover - start_conversation always adds the agent
        raise InvalidState("The conversation could not be started")
    return session_view_for(rt, out.session, me)
