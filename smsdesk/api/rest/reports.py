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
from smsdesk.domain.errors import NotFound

__all__ = ["router"]

router = APIRouter()


@router.get("/api/v2/reports/{kind}")
async def get_report(request: Request, kind: str) -> Response:
    rt, p = runtime_of(request), principal_of(request)
    require_supervisor(p)
    if kind not in ("queues", "agents"):
        raise NotFound(f"No report '{kind}': there are 'queues' and 'agents'")
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
