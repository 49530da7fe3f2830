"""``GET /api/v2/statistics``: queue and agent figures (docs/operations.md). Supervisors and admins see
every queue and agent; an agent sees only their own figures."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request

from smsdesk.actions.statistics import Statistics
from smsdesk.api.deps import principal_of
from smsdesk.api.errors import GwsJSONResponse

__all__ = ["router", "statistics_of"]

router = APIRouter()


def statistics_of(request: Request) -> Statistics:
    stats: Statistics = request.app.state.statistics
    return stats


@router.get("/api/v2/statistics")
async def get_statistics(request: Request) -> GwsJSONResponse:
    p = principal_of(request)
    snap = await statistics_of(request).snapshot()
    return GwsJSONResponse(snap.body(agent_id=None if p.is_supervisor else p.user_id))
