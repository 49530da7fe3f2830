"""Supervision resources (spec §7): Monitor / Coach / BargeIn / CancelSupervisorMonitoring on
``POST /api/v2/users/{agentId}/channels/smssession`` (also ``smsession``, the seed's spelling; dispatched from
``users.py``), Intrude on ``POST /api/v2/users/{agentId}/smssessions/{id}``, the supervisor's subscriptions on
``GET /api/v2/me/supervision`` and the audit log on ``GET /api/v2/audit`` (admins)."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request

from smsdesk.actions import supervision as sv
from smsdesk.api.deps import principal_of, runtime_of
from smsdesk.api.errors import GwsJSONResponse
from smsdesk.api.params import read_json_object
from smsdesk.api.rest.smssessions import SEGMENTS

router = APIRouter()


async def intrude(request: Request, user_id: str, session_id: str) -> GwsJSONResponse:
    rt, p = runtime_of(request), principal_of(request)
    body = await read_json_object(request, rt.settings.max_body_bytes, rt.settings.max_json_depth)
    return GwsJSONResponse({"statusCode": 0, **await sv.check_intrude(rt, p, user_id, session_id, body)})


for seg in SEGMENTS:
    router.add_api_route(
        f"/api/v2/users/{{user_id}}/{seg}/{{session_id}}",
        intrude,
        methods=["POST"],
        include_in_schema=seg == "smssessions",
    )


@router.get("/api/v2/me/supervision")
async def my_subscriptions(request: Request) -> GwsJSONResponse:
    rt, p = runtime_of(request), principal_of(request)
    return GwsJSONResponse({"statusCode": 0, "subscriptions": await sv.list_my_subscriptions(rt, p)})


@router.get("/api/v2/audit")
async def audit(request: Request) -> GwsJSONResponse:
    rt, p = runtime_of(request), principal_of(request)
    q = request.query_params
    return GwsJSONResponse(
        {"statusCode": 0, "entries": await sv.check_list_audit(rt, p, q.get("limit"), q.get("before"))}
    )
