"""Standard responses, smsdesk's extension (docs/api.md, "Standard responses"): ``GET /api/v2/responses``
(search), ``GET /api/v2/responses/{id}`` (``?session=`` fills the placeholders for that session), ``POST``,
``PUT``, ``DELETE`` for supervisors and admins. An agent's change is refused with statusCode 5."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import Any

from smsdesk.actions.access import require_supervisor
from smsdesk.actions.engine import load_session
from smsdesk.domain.errors import NotFound, Validation
from smsdesk.domain.responses import StandardResponse, fill, matches, parse_response
from smsdesk.domain.users import Principal
from smsdesk.runtime import Runtime

__all__ = [
    "MAX_RESPONSES",
    "check_add_response",
    "check_delete_response",
    "check_update_response",
    "one_response",
    "require_supervisor",
    "search_responses",
]

MAX_RESPONSES = 5000  # the contact center's library: beyond it, an add is refused
_MAX_QUERY = 200


async def search_responses(rt: Runtime, q: str | None, category: str | None) -> list[dict[str, Any]]:
    """Every response whose name, category or text holds each word of ``q`` (any case), in ``category``."""
    if q is not None and len(q) > _MAX_QUERY:
        raise Validation(f"'q' must be at most {_MAX_QUERY} characters")
    if category is not None and len(category) > _MAX_QUERY:
        raise Validation(f"'category' must be at most {_MAX_QUERY} characters")
    words = (q or "").split()
    cat = category if category is not None and category.strip() else None
    base = rt.settings.base_url
    return [r.view(base) for r in await rt.store.list_responses() if matches(r, words, cat)]


async def _get(rt: Runtime, response_id: str) -> StandardResponse:
    found = await rt.store.get_response(response_id) if len(response_id) <= 32 else None
    if found is None:
        raise NotFound(f"Standard response '{response_id}' not found")
    return found


async def one_response(
    rt: Runtime, principal: Principal, response_id: str, session_id: str | None
) -> dict[str, Any]:
    """One response; with ``session_id`` (a session the caller is part of, or any for supervisors) also its
    ``filledText``: the placeholders replaced for the caller and that session's customer."""
    response = await _get(rt, response_id)
    view = response.view(rt.settings.base_url)
    if session_id is None:
        return view
    session, _ = await load_session(rt, session_id)
    if session.for_user(principal.user_id) is None and not principal.is_supervisor:
        raise NotFound(f"SMS session '{session_id}' not found")
    user = await rt.store.get_user(principal.user_id)
    view["filledText"] = fill(
        response.text,
        nickname=user.display_name if user is not None else principal.user_name,
        first_name=user.first_name if user is not None else "",
        customer_number=session.customer_number,
        user_data=session.user_data,
    )
    return view


async def check_add_response(rt: Runtime, principal: Principal, body: Mapping[str, Any]) -> dict[str, Any]:
    require_supervisor(principal)
    response = parse_response(body, secrets.token_hex(8), rt.clock.now_ms())
    if len(await rt.store.list_responses()) >= MAX_RESPONSES:
        raise Validation(f"At most {MAX_RESPONSES} standard responses")
    await rt.store.add_response(response)
    return response.view(rt.settings.base_url)


async def check_update_response(
    rt: Runtime, principal: Principal, response_id: str, body: Mapping[str, Any]
) -> dict[str, Any]:
    require_supervisor(principal)
    await _get(rt, response_id)
    response = parse_response(body, response_id, rt.clock.now_ms())
    if not await rt.store.update_response(response):
        raise NotFound(f"Standard response '{response_id}' not found")
    return response.view(rt.settings.base_url)


async def check_delete_response(rt: Runtime, principal: Principal, response_id: str) -> None:
    require_supervisor(principal)
    if len(response_id) > 32 or not await rt.store.delete_response(response_id):
        raise NotFound(f"Standard response '{response_id}' not found")
