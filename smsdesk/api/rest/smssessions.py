"""SMS session resources (spec §6, §6.22): operations on ``POST /api/v2/me/smssessions/{id}`` and reads.

Every URL spelling the spec lists is accepted (spec §3): ``smssessions``, ``smsessions``, ``smsssession``,
``smssession``, ``smsession``, with and without ``/me``.
"""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.routing import BaseRoute, Route

from smsdesk.actions import sessions as ss
from smsdesk.actions.access import require_feature
from smsdesk.api.deps import principal_of, runtime_of
from smsdesk.api.errors import GwsJSONResponse
from smsdesk.api.params import read_json_object, wants_fields

__all__ = ["SEGMENTS", "plain_routes", "router"]

router = APIRouter()

SEGMENTS = ("smssessions", "smsessions", "smsssession", "smssession", "smsession", "smsssessions")


async def operate(request: Request, session_id: str) -> GwsJSONResponse:
    rt, p = runtime_of(request), principal_of(request)
    body = await read_json_object(request, rt.settings.max_body_bytes, rt.settings.max_json_depth)
    extra = await ss.check_session_operation(rt, p, session_id, body)
    return GwsJSONResponse({"statusCode": 0, **extra})


async def _operate_plain(request: Request) -> GwsJSONResponse:
    return await operate(request, request.path_params["session_id"])


def plain_routes() -> list[BaseRoute]:
    """The operations (the hottest REST call) as plain Starlette routes, mounted ahead of the FastAPI routes:
    the same handler, errors and statuses at about half the framework cost. The FastAPI routes below stay
    for the OpenAPI schema and answer nothing these match."""
    return [
        Route(f"{prefix}/{seg}/{{session_id}}", _operate_plain, methods=["POST"])
        for seg in SEGMENTS
        for prefix in ("/api/v2/me", "/api/v2")
    ]


async def list_mine(request: Request) -> GwsJSONResponse:
    rt, p = runtime_of(request), principal_of(request)
    require_feature(rt.settings, "api-multimedia")
    sessions = await ss.list_sessions_of(rt, p.user_id)
    if wants_fields(request):
        return GwsJSONResponse({"statusCode": 0, "smssessions": sessions})
    return GwsJSONResponse({"statusCode": 0, "uris": [s["uri"] for s in sessions]})


async def get_one(request: Request, session_id: str) -> GwsJSONResponse:
    rt, p = runtime_of(request), principal_of(request)
    require_feature(rt.settings, "api-multimedia")
    return GwsJSONResponse({"statusCode": 0, "smssession": await ss.session_resource(rt, p, session_id)})


async def get_messages(request: Request, session_id: str) -> GwsJSONResponse:
    rt, p = runtime_of(request), principal_of(request)
    require_feature(rt.settings, "api-multimedia")
    q = request.query_params
    messages = await ss.read_transcript(rt, p, session_id, q.get("startIndex"), q.get("count"))
    return GwsJSONResponse({"statusCode": 0, "messages": messages})


for seg in SEGMENTS:
    for prefix in ("/api/v2/me", "/api/v2"):
        router.add_api_route(
            f"{prefix}/{seg}/{{session_id}}",
            operate,
            methods=["POST"],
            include_in_schema=seg == "smssessions",
        )
        router.add_api_route(
            f"{prefix}/{seg}/{{session_id}}", get_one, methods=["GET"], include_in_schema=seg == "smssessions"
        )
        router.add_api_route(
            f"{prefix}/{seg}/{{session_id}}/messages",
            get_messages,
            methods=["GET"],
            include_in_schema=seg == "smssessions",
        )
    router.add_api_route(
        f"/api/v2/me/{seg}", list_mine, methods=["GET"], include_in_schema=seg == "smssessions"
    )
