"""``/api/v2/me``: the caller's user resource, contact-center session and channel states (spec §9.2, §9.3)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.routing import BaseRoute, Route

from smsdesk.actions import channels as ch
from smsdesk.actions.access import access_user_by_id
from smsdesk.actions.users import user_resource
from smsdesk.api.deps import principal_of, runtime_of
from smsdesk.api.errors import GwsJSONResponse
from smsdesk.api.params import operation_name, read_json_object, wanted_subresources
from smsdesk.api.rest import subresources
from smsdesk.domain import agents as ag
from smsdesk.domain.errors import GwsError, Validation

__all__ = ["OPERATIONS", "plain_routes", "router"]

router = APIRouter()

# The operationName values of POST /api/v2/me, exactly as written
OPERATIONS = ("StartContactCenterSession", "EndContactCenterSession")


@router.get("/api/v2/me")
async def get_me(request: Request) -> GwsJSONResponse:
    rt, p = runtime_of(request), principal_of(request)
    user = await access_user_by_id(rt.store, p.user_id)
    resource = user_resource(rt, user)
    resource.update(await subresources.embed(rt, user, wanted_subresources(request), viewer=p))
    return GwsJSONResponse({"statusCode": 0, "user": resource})


@router.post("/api/v2/me")
async def post_me(request: Request) -> GwsJSONResponse:
    rt, p = runtime_of(request), principal_of(request)
    body = await read_json_object(request, rt.settings.max_body_bytes, rt.settings.max_json_depth)
    op = operation_name(body)
    if op == OPERATIONS[0]:
        return await _start(request, body)
    if op == OPERATIONS[1]:
        await ch.do_end_contact_center_session(rt, p)
        # every process forgets the session and ends the user's CometD clients (docs/security.md)
        await request.app.state.revocation.revoke([p.user_id], [p.http_session_id or ""])
        return GwsJSONResponse({"statusCode": 0})
    raise Validation(f"Unknown operationName '{op}'; use {' or '.join(OPERATIONS)}")


async def _start(request: Request, body: dict[str, Any]) -> GwsJSONResponse:
    """Channels this server does not offer fail one by one: partial success is statusCode 7 (spec §9.2)."""
    rt, p = runtime_of(request), principal_of(request)
    channels = body.get("channels", [ag.SMS_CHANNEL])
    if not isinstance(channels, list) or not all(isinstance(c, str) for c in channels) or not channels:
        raise Validation("'channels' must be a non-empty array of channel names, e.g. [\"sms\"]")
    results: list[dict[str, Any]] = []
    good: list[str] = []
    for name in channels:
        try:
            ag.canonical_channel(name)
            good.append(name)
            results.append({"channel": name, "statusCode": 0})
        except GwsError as exc:
            results.append({"channel": name, "statusCode": exc.code, "statusMessage": exc.message})
    if not good:
        bad = results[0]
        raise Validation(str(bad["statusMessage"]))
    await ch.do_start_contact_center_session(rt, p, good)
    if len(good) == len(channels):
        return GwsJSONResponse({"statusCode": 0})
    return GwsJSONResponse({"statusCode": 7, "channels": results})


@router.get("/api/v2/me/channels")
async def get_my_channels(request: Request) -> GwsJSONResponse:
    rt, p = runtime_of(request), principal_of(request)
    agent = await ch.load_agent(rt, p.user_id)
    return GwsJSONResponse({"statusCode": 0, "channels": [ag.channel_view(agent)]})


@router.get("/api/v2/me/channels/{channel}")
async def get_my_channel(request: Request, channel: str) -> GwsJSONResponse:
    rt, p = runtime_of(request), principal_of(request)
    ag.canonical_channel(channel)
    agent = await ch.load_agent(rt, p.user_id)
    return GwsJSONResponse({"statusCode": 0, "channel": ag.channel_view(agent)})


@router.post("/api/v2/me/channels/{channel}")
async def post_my_channel(request: Request, channel: str) -> GwsJSONResponse:
    rt, p = runtime_of(request), principal_of(request)
    body = await read_json_object(request, rt.settings.max_body_bytes, rt.settings.max_json_depth)
    await ch.check_set_channel_state(rt, p, channel, operation_name(body), body)
    return GwsJSONResponse({"statusCode": 0})


async def _post_my_channel_plain(request: Request) -> GwsJSONResponse:
    return await post_my_channel(request, request.path_params["channel"])


def plain_routes() -> list[BaseRoute]:
    """Ready/NotReady as a plain Starlette route ahead of the FastAPI one (kept for the OpenAPI schema)."""
    return [Route("/api/v2/me/channels/{channel}", _post_my_channel_plain, methods=["POST"])]
