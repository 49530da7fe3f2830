"""``GET /api/v2/queues`` (smsdesk's addition, read-only): the configured queues, for the desktop's transfer
target list. Any signed-in user may read it (``/api/v2/*`` requires credentials)."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request

from smsdesk.actions.queues import queue_views
from smsdesk.api.deps import runtime_of
from smsdesk.api.errors import GwsJSONResponse

router = APIRouter()


@router.get("/api/v2/queues")
async def list_queues(request: Request) -> GwsJSONResponse:
    return GwsJSONResponse({"statusCode": 0, "queues": queue_views(runtime_of(request).settings)})
