"""``/api/v2/users``: list, read, create, update (``PUT``) and delete users (spec §9.7); supervisor control of an agent's channel
(``POST /api/v2/users/{id}/channels/{channel}``, spec §9.3). Supervision operations on the same URL are
dispatched to ``smsdesk/actions/supervision.py`` (Monitor, Coach, BargeIn, CancelSupervisorMonitoring)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.requests import Request

from smsdesk.actions import channels as ch
from smsdesk.actions import users as us
from smsdesk.actions.access import access_user_by_id
from smsdesk.actions.supervision import SUPERVISION_OPERATIONS
from smsdesk.api.deps import principal_of, runtime_of
from smsdesk.api.errors import GwsJSONResponse
from smsdesk.api.params import operation_name, read_json_object, wanted_subresources, wants_fields
from smsdesk.api.rest import subresources

router = APIRouter()


def _select(resource: dict[str, Any], fields: str | None) -> dict[str, Any]:
    if not fields or fields == "*":
        return resource
    keep = {f.strip() for f in fields.split(",")} | {"id", "uri", "path"}
    return {k: v for k, v in resource.items() if k in keep}


@router.get("/api/v2/users")
async def list_users(request: Request) -> GwsJSONResponse:
    rt = runtime_of(request)
    principal_of(request)
    users = await rt.store.list_users()
    if wants_fields(request):
        fields = request.query_params.get("fields")
        return GwsJSONResponse(
            {"statusCode": 0, "users": [_select(us.user_resource(rt, u), fields) for u in users]}
        )
    return GwsJSONResponse({"statusCode": 0, "uris": [us.user_resource(rt, u)["uri"] for u in users]})


@router.post("/api/v2/users")
async def create_user(request: Request) -> GwsJSONResponse:
    rt, p = runtime_of(request), principal_of(request)
    body = await read_json_object(request, rt.settings.max_body_bytes, rt.settings.max_json_depth)
    user = await us.check_create_user(rt, p, body)
    res = us.user_resource(rt, user)
    return GwsJSONResponse({"statusCode": 0, "id": user.id, "uri": res["uri"], "path": res["path"]})


@router.get("/api/v2/users/{user_id}")
async def get_user(request: Request, user_id: str) -> GwsJSONResponse:
    rt, p = runtime_of(request), principal_of(request)
    user = await access_user_by_id(rt.store, user_id)
    resource = _select(us.user_resource(rt, user), request.query_params.get("fields"))
    resource.update(await subresources.embed(rt, user, wanted_subresources(request), viewer=p))
    return GwsJSONResponse({"statusCode": 0, "user": resource})


@router.put("/api/v2/users/{user_id}")
async def update_user(request: Request, user_id: str) -> GwsJSONResponse:
    rt, p = runtime_of(request), principal_of(request)
    body = await read_json_object(request, rt.settings.max_body_bytes)
    user = await us.check_update_user(rt, p, user_id, body)
    request.app.state.authenticator.forget_user(user_id)  # its roles and enabled flag apply at once
    return GwsJSONResponse({"statusCode": 0, "user": us.user_resource(rt, user)})


@router.delete("/api/v2/users/{user_id}")
async def delete_user(request: Request, user_id: str) -> GwsJSONResponse:
    rt, p = runtime_of(request), principal_of(request)
    await us.check_delete_user(rt, p, user_id)
    await request.app.state.revocation.revoke([user_id])  # every process, its CometD clients too
    return GwsJSONResponse({"statusCode": 0})


@router.post("/api/v2/users/{user_id}/channels/{channel}")
async def post_user_channel(request: Request, user_id: str, channel: str) -> GwsJSONResponse:
    rt, p = runtime_of(request), principal_of(request)
    body = await read_json_object(request, rt.settings.max_body_bytes, rt.settings.max_json_depth)
    op = operation_name(body)
    handler = SUPERVISION_OPERATIONS.get(op.lower())
    if handler is not None:
        return GwsJSONResponse({"statusCode": 0, **await handler(rt, p, user_id, channel, body)})
    await ch.check_supervisor_set_channel_state(rt, p, user_id, channel, op, body)
    return GwsJSONResponse({"statusCode": 0})
