"""``smsdesk report --from DATE --to DATE --by queue|agent|hour|day [--format csv|json]``: the statistics
over a period, read from the database (docs/operations.md, "Reports"). ``hour`` and ``day`` give one row
per period and queue."""

from __future__ import annotations

import argparse
import json
import sys
from zoneinfo import ZoneInfo

from smsdesk.config import Settings

__all__ = ["add_report_parser", "run_report"]


def add_report_parser(p: argparse.ArgumentParser) -> None:
    p.add_argument("--from", dest="from_", required=True, help="first day (2026-12-01), in time_zone")
    p.add_argument("--to", required=True, help="last day, included")
    p.add_argument("--by", choices=["queue", "agent", "hour", "day"], default="queue")
    p.add_argument("--format", choices=["csv", "json"], default="csv")


async def run_report(args: argparse.Namespace, settings: Settings) -> int:
    from smsdesk.actions.reports import agent_report, queue_report, report_period, to_csv
    from smsdesk.app import build_runtime
    from smsdesk.domain.errors import GwsError

    rt = build_runtime(settings)
    try:
        zone = ZoneInfo(settings.time_zone)
        start, end = report_period(args.from_, args.to, zone)
        if args.by == "agent":
            report = await agent_report(rt, start, end, "agent")
        else:
            report = await queue_report(rt, start, end, args.by)
    except GwsError as exc:
        print(f"smsdesk report: {exc}", file=sys.stderr)
        return 2
    finally:
        await rt.store.close()
    if args.format == "json":
        print(json.dumps(report.body(zone), indent=2))
    else:
        sys.stdout.write(to_csv(report))
    return 0
