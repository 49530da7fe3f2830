"""Reports: the statistics' figures over a period (docs/operations.md, "Reports").

The same per-minute sums of the session milestones as the real-time statistics (``store/statistics.py``),
added up per queue, agent, hour or day, the hours and days in ``time_zone``: a day's report is the
statistics' ``today`` at that day's end.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from smsdesk.domain.errors import Validation
from smsdesk.domain.statistics import AgentMinute, MinuteSums, window_view
from smsdesk.runtime import Runtime
from smsdesk.store.statistics import read_minutes

__all__ = ["QUEUE_COLUMNS", "Report", "agent_report", "queue_report", "report_period", "to_csv"]

MAX_DAYS = 366
QUEUE_COLUMNS = (
    "queue",
    "offered",
    "accepted",
    "completed",
    "abandoned",
    "averageWaitSeconds",
    "averageFirstResponseSeconds",
    "averageHandleSeconds",
    "serviceLevel",
)
AGENT_COLUMNS = ("id", "userName", "handled", "averageHandleSeconds")


@dataclass(frozen=True)
class Report:
    columns: tuple[str, ...]
    rows: list[dict[str, Any]]
    from_ms: int
    to_ms: int
    by: str

    def body(self, zone: ZoneInfo) -> dict[str, Any]:
        return {
            "statusCode": 0,
            "from": _iso(self.from_ms, zone),
            "to": _iso(self.to_ms, zone),
            "by": self.by,
            "rows": self.rows,
        }


def _iso(ms: int, zone: ZoneInfo) -> str:
    return datetime.fromtimestamp(ms / 1000, zone).isoformat()


def report_period(raw_from: str | None, raw_to: str | None, zone: ZoneInfo) -> tuple[int, int]:
    """``from`` and ``to`` as days (``to`` included) or date-times: [start, end) in epoch ms, whole minutes."""
    from smsdesk.actions.history import parse_day_or_time

    if not raw_from or not raw_to:
        raise Validation("'from' and 'to' are required (ISO days such as 2026-12-01; 'to' is included)")
    start = parse_day_or_time(raw_from, "from", zone, end=False)
    end = parse_day_or_time(raw_to, "to", zone, end=True)
    if start % 60_000 or end % 60_000:
        raise Validation("'from' and 'to' must be whole minutes")
    if end <= start:
        raise Validation("'to' must not be before 'from'")
    if end - start > MAX_DAYS * 86_400_000 + 3_600_000:
        raise Validation(f"a report covers at most {MAX_DAYS} days")
    return start, end


def _period_of(by: str, zone: ZoneInfo) -> Callable[[int], str | None]:
    """minute start (epoch ms) -> the start of its hour or day in ``zone`` (ISO text); None for neither."""
    if by not in ("hour", "day"):
        return lambda _m: None
    cache: dict[int, str] = {}

    def period(minute: int) -> str:
        # every zone's offset is a whole quarter of an hour: the local hour and day hold for a UTC quarter
        quarter = minute - minute % 900_000
        found = cache.get(quarter)
        if found is None:
            local = datetime.fromtimestamp(quarter / 1000, zone)
            start = (
                datetime(local.year, local.month, local.day, tzinfo=zone)
                if by == "day"
                else local.replace(minute=0, second=0, microsecond=0)
            )
            found = cache[quarter] = start.isoformat()
        return found

    return period


async def queue_report(rt: Runtime, start: int, end: int, by: str) -> Report:
    """``by``: ``queue`` (one row per queue) or ``hour`` / ``day`` (one row per period and queue)."""
    if by not in ("queue", "hour", "day"):
        raise Validation("'by' must be queue, hour or day for a queue report")
    zone = ZoneInfo(rt.settings.time_zone)
    rows = await read_minutes(rt.store, start, end)
    period = _period_of(by, zone)
    totals: dict[tuple[str | None, str], MinuteSums] = {}
    for minute, per_queue in rows.queues.items():
        key_period = period(minute)
        for name, sums in per_queue.items():
            totals.setdefault((key_period, name), MinuteSums()).add(sums)
    out = []
    for (p, name), sums in sorted(totals.items(), key=lambda kv: (kv[0][0] or "", kv[0][1])):
        row: dict[str, Any] = {"period": p} if p is not None else {}
        row.update({"queue": name, **window_view(sums)})
        out.append(row)
    columns = (("period",) if by != "queue" else ()) + QUEUE_COLUMNS
    return Report(columns, out, start, end, by)


async def agent_report(rt: Runtime, start: int, end: int, by: str) -> Report:
    """``by``: ``agent`` (one row per agent) or ``hour`` / ``day`` (one row per period and agent)."""
    if by not in ("agent", "hour", "day"):
        raise Validation("'by' must be agent, hour or day for an agent report")
    zone = ZoneInfo(rt.settings.time_zone)
    rows = await read_minutes(rt.store, start, end)
    names = {u.id: u.user_name for u in await rt.store.list_users()}
    period = _period_of(by, zone)
    totals: dict[tuple[str | None, str], AgentMinute] = {}
    for minute, per_agent in rows.agents.items():
        key_period = period(minute)
        for agent_id, sums in per_agent.items():
            totals.setdefault((key_period, agent_id), AgentMinute()).add(sums)
    out = []
    for (p, agent_id), a in sorted(totals.items(), key=lambda kv: (kv[0][0] or "", names.get(kv[0][1], ""))):
        row: dict[str, Any] = {"period": p} if p is not None else {}
        avg = None if a.handled == 0 else round(a.handle_ms / a.handled / 1000, 1)
        row.update({"id": agent_id, "userName": names.get(agent_id, ""), "handled": a.handled})
        row["averageHandleSeconds"] = avg
        out.append(row)
    columns = (("period",) if by != "agent" else ()) + AGENT_COLUMNS
    return Report(columns, out, start, end, by)


def to_csv(report: Report) -> str:
    """RFC 4180 CSV with a header row; an absent figure (no sample) is an empty cell."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(report.columns)
    for row in report.rows:
        writer.writerow(["" if row.get(c) is None else row.get(c) for c in report.columns])
    return buf.getvalue()
