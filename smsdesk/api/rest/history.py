"""``GET /api/v2/smssessions``: customer history and transcript search (docs/operations.md)."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request

from smsdesk.actions.access import require_feature
from smsdesk.actions.history import history_search
from smsdesk.api.deps import principal_of, runtime_of
from smsdesk.api.errors import GwsJSONResponse
from smsdesk.api.params import wants_fields

__all__ = ["router"]

router = APIRouter()


@router.get("/api/v2/smssessions")
async def search(request: Request) -> GwsJSONResponse:
    """Query: ``customerNumber``, ``from``, ``to``, ``queue``, ``agent``, ``q``, ``fields=*``, ``offset``,
    ``limit``."""
    rt, p = runtime_of(request), principal_of(request)
    require_feature(rt.settings, "api-multimedia")
    params = dict(request.query_params)
    body = await history_search(rt, p, params, whole=wants_fields(request))
    return GwsJSONResponse(body)
