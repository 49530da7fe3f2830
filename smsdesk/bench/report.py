"""Human-readable lines for the benchmark results, and the JSON file. The JSON is the record; this is a view.

Verdicts against the issue-5 targets are computed here (``targets``), from the measured numbers only.
"""

from __future__ import annotations

import json
import os
import platform
import time
from pathlib import Path
from typing import Any

from smsdesk.bench.stats import Summary

__all__ = ["environment", "format_fanout", "format_server", "format_step", "ratio", "write_json"]

LAT_KEYS = (
    ("inbound_to_invited_ms", "inbound -> Invited"),
    ("follow_up_to_agent_ms", "follow-up -> agent"),
    ("reply_to_supervisor_ms", "reply -> supervisor"),
    ("reply_to_customer_ms", "reply -> customer"),
)


def _brief(summary: dict[str, Any]) -> str:
    return Summary(**summary).brief()


def format_server(
    workers: int, cpu_percent: float, processes: int | None = None, cpus: int | None = None
) -> str:
    """``server: 2 workers, CPU 143 % (of 200 %)``: the CPU of the whole process tree, out of what its workers
    could use (one core each, at most the machine's cores). ``processes`` is said when it differs from the
    worker count (a supervisor, a helper)."""
    cores = min(workers, cpus or os.cpu_count() or 1)
    count = f"{workers} worker{'s' if workers != 1 else ''}"
    if processes is not None and processes != workers:
        count += f" ({processes} processes)"
    return f"server: {count}, CPU {cpu_percent:.1f} % (of {100 * cores} %)"


def format_step(step: dict[str, Any], workers: int = 1) -> str:
    lines = [
        f"rate {step['rate']:>6} SMS/s for {step['duration_s']} s: sent {step['sent']}"
        f" ({step['achieved_inbound_per_s']}/s), Invited {step['invited']},"
        f" sustained {step['sustained_sessions_per_s']} sessions/s",
    ]
    if step.get("texts_per_session", 1) > 1:
        lines[0] += (
            f", {step['texts_per_session']} texts per session: {step['follow_ups']} follow-ups,"
            f" sustained {step['sustained_inbound_per_s']} inbound SMS/s"
        )
    for key, label in LAT_KEYS:
        if key in step and (step[key]["count"] or key != "follow_up_to_agent_ms"):
            lines.append(f"    {label:<22}{_brief(step[key])}")
    cpu = step.get("server_cpu_percent")
    if cpu is not None:
        processes = len(step.get("server_processes") or ()) or None
        lines.append(
            f"    {format_server(workers, cpu, processes)}, RSS {step['server_rss_mb']} MB"
            f" (peak {step['server_peak_rss_mb']} MB); load generator CPU {step['load_cpu_percent']}%,"
            f" lag p99 {step['generator_lag_ms']['p99']} ms; machine load average {step.get('loadavg_1min_after')}"
        )
    if step.get("competing_cpu_percent") is not None:
        lines.append(
            f"    competing process: asked {100 * step['competing_cpu_share']:.0f} % of a core,"
            f" got {step['competing_cpu_percent']} %"
        )
    if step.get("server_cpu_ms_per_inbound") is not None:
        lines.append(f"    server CPU per inbound text delivered: {step['server_cpu_ms_per_inbound']} ms")
    if step["errors"] or step["client_errors"]:
        lines.append(f"    errors: {step['errors']} client errors: {step['client_errors']}")
    return "\n".join(lines)


def format_fanout(result: dict[str, Any], workers: int | None = None) -> str:
    """``workers``: smsdesk's worker count (None for the Faye peer, one node process)."""
    lines = [f"{result['server']}: {result['subscribers']} subscribers, {result['publishers']} publishers"]
    for phase in ("paced", "max"):
        p = result[phase]
        cpu = p.get("server_cpu_percent")
        if cpu is None:
            server = "server CPU ?"
        elif workers is None:
            server = f"server CPU {cpu}%"
        else:
            server = format_server(workers, cpu, len(p.get("server_processes") or ()) or None)
        lines.append(
            f"    {phase:<6} {p['publish_per_s']:>8} publish/s -> {p['deliveries_per_s']:>9} deliveries/s"
            f"  latency {_brief(p['latency_ms'])}  errors {p['errors']}"
            f"  {server}, load generator CPU {p.get('load_cpu_percent', '?')}%"
        )
    return "\n".join(lines)


def ratio(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or b == 0:
        return None
    return round(a / b, 2)


def environment() -> dict[str, Any]:
    return {
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "loadavg_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def write_json(path: Path, data: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, sort_keys=False) + "\n")
    return path
