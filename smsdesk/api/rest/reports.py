"""``GET /api/v2/reports/{queues|agents}?from=&to=&by=``: the statistics over a period, for supervisors and
admins; JSON, or CSV when the request accepts ``text/csv`` (docs/operations.md, "Reports")."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from smsdesk.actions.access import require_supervisor
from smsdesk.actions.reports import agent_report, queue_report, report_period, to_csv
from smsdesk.api.deps import principal_of, runtime_of
from smsdesk.api.errors import GwsJSONResponse

__all__ = ["router"]

router = APIRouter()


@router.get("/api/v2/reports/queues")
async def get_queue_report(request: Request) -> Response:
    return await _report(request, "queues")


@router.get("/api/v2/reports/agents")
async def get_agent_report(request: Request) -> Response:
    return await _report(request, "agents")


async def _report(request: Request, kind: str) -> Response:
    """Another kind than ``queues`` and ``agents`` is not a route: HTTP 404, statusCode 6."""
    rt, p = runtime_of(request), principal_of(request)
    require_supervisor(p)
    zone = ZoneInfo(rt.settings.time_zone)
    q = request.query_params
    start, end = report_period(q.get("from"), q.get("to"), zone)
    if kind == "queues":
        report = await queue_report(rt, start, end, q.get("by") or "queue")
    else:
        report = await agent_report(rt, start, end, q.get("by") or "agent")
    if "text/csv" in request.headers.get("accept", ""):
        name = f"smsdesk-{kind}-{q.get('from')}-{q.get('to')}.csv"
        return Response(
            to_csv(report),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )
    return GwsJSONResponse(report.body(zone))
