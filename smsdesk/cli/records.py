"""The commands on the records (docs/operations.md): ``smsdesk report --from DATE --to DATE --by
queue|agent|hour|day [--format csv|json]``, the statistics over a period (``hour`` and ``day``: one row per
period and queue), and ``smsdesk erase --number +E164``."""

from __future__ import annotations

import argparse
import json
import sys
from zoneinfo import ZoneInfo

from smsdesk.config import Settings

__all__ = ["add_report_parser", "run_erase", "run_report"]


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


async def run_erase(args: argparse.Namespace, settings: Settings) -> int:
    """``smsdesk erase --number +E164``: the customer's sessions, transcripts and history (docs/operations.md)."""
    from smsdesk.actions.retention import erase_customer
    from smsdesk.app import build_runtime
    from smsdesk.domain.errors import GwsError
    from smsdesk.sms.numbers import InvalidNumber, normalize_e164
    from smsdesk.store.migrate import migrate

    try:
        number = normalize_e164(args.number)
    except InvalidNumber as exc:
        print(f"smsdesk erase: {exc}", file=sys.stderr)
        return 2
    rt = build_runtime(settings)
    try:
        await migrate(rt.store)
        done = await erase_customer(rt, number, args.actor)
    except GwsError as exc:
        print(f"smsdesk erase: {exc}", file=sys.stderr)
        return 1
    finally:
        await rt.store.close()
    print(
        f"erased {number}: {done.sessions} sessions, {done.events} notifications, {done.outbox} outbound SMS"
    )
    return 0
