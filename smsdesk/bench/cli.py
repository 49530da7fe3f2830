"""``python -m smsdesk.bench`` / ``smsdesk bench``: run | sweep | scale | fanout | idle.

Each command starts its own ``smsdesk serve`` child on a temporary SQLite file (or ``--database``), with
``--workers N`` worker processes when N > 1, drives it from this process (asyncio, uvloop when installed), prints a summary and writes the full
results as JSON (default ``bench-results/<time>-<command>.json``). What is measured and why:
``docs/performance.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

from smsdesk.bench.bayeux import TRANSPORTS, BayeuxError
from smsdesk.bench.competitor import CompetingLoad, parse_share
from smsdesk.bench.contact_center import ContactCenterLoad
from smsdesk.bench.fanout import FayeServer, FayeTarget, SmsdeskTarget, run_fanout
from smsdesk.bench.http import HttpError
from smsdesk.bench.idle import measure_idle_clients
from smsdesk.bench.procstat import ProcUnavailable, cpu_percent
from smsdesk.bench.profiler import Profiler, hottest
from smsdesk.bench.queues import QueuePlan
from smsdesk.bench.report import environment, format_fanout, format_step, ratio, write_json
from smsdesk.bench.server import ServerError, ServerProcess, seed_users
from smsdesk.bench.stats import Summary, highest_passing_rate

__all__ = ["main"]

P99_LIMIT_MS = 100.0


def _positive_floats(text: str) -> list[float]:
    try:
        values = [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {text!r}") from None
    if not values or any(v <= 0 for v in values):
        raise argparse.ArgumentTypeError(f"expected numbers > 0, got {text!r}")
    return values


def _positive_ints(text: str) -> list[int]:
    values = _positive_floats(text)
    if any(v != int(v) for v in values):
        raise argparse.ArgumentTypeError(f"expected whole numbers, got {text!r}")
    return [int(v) for v in values]


def _count_or_zero(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"expected a whole number >= 0, got {text!r}")
    return int(text)


def _server_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--database", help="database URL for the server (default: a temporary SQLite file)")
    p.add_argument(
        "--workers",
        type=int,
        default=1,
        help="worker processes of the server (`smsdesk serve --workers N`); CPU and RSS cover them all",
    )
    p.add_argument("--redis", help="redis://... : run the server with the Redis bus")
    p.add_argument("--transport", choices=TRANSPORTS, default="websocket", help="CometD transport of clients")
    p.add_argument("--json", type=Path, help="where to write the results (default bench-results/...)")


def _texts_flag(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--texts-per-session",
        type=int,
        default=1,
        help="inbound texts per conversation: the first opens the session, the others follow the agent's reply",
    )
    p.add_argument(
        "--shared-connections",
        type=_count_or_zero,
        default=0,
        metavar="K",
        help="cap the harness's keep-alive connections at K, a call waiting for a free one (the first four "
        "rounds: 48); by default a call that finds none idle opens one, as a reverse proxy does",
    )
    p.add_argument(
        "--idle-connections",
        type=int,
        default=512,
        metavar="K",
        help="keep at most K idle keep-alive connections (a reverse proxy's keepalive); a connection "
        "returned beyond them is closed (default 512; the fifth round kept 48)",
    )
    p.add_argument(
        "--competing-cpu",
        type=_share,
        metavar="F",
        help="during the steps, another process burns a share F (0 < F <= 1) of one core, as another job "
        "on the machine would; its measured CPU is recorded with each step",
    )


def _share(text: str) -> float:
    try:
        return parse_share(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="smsdesk bench", description="smsdesk benchmark harness (issue 5)")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="end-to-end contact-center load, one or more rate steps")
    sweep = sub.add_parser("sweep", help="alias of run with the default rate steps")
    for p in (run, sweep):
        _server_flags(p)
        p.add_argument("-n", "--agents", type=int, default=100)
        p.add_argument("-m", "--supervisors", type=int, default=10)
        default = "200" if p is run else "5,10,20,50,100,200,500"
        p.add_argument(
            "--rate", "--rates", dest="rates", type=_positive_floats, default=_positive_floats(default)
        )
        p.add_argument("--duration", type=float, default=10.0, help="seconds per rate step")
        p.add_argument("--drain", type=float, default=10.0, help="seconds to wait for stragglers")
        p.add_argument("--phone-sample", type=int, default=500, help="customers' phones read back per step")
        _texts_flag(p)
        p.add_argument(
            "--profile", type=Path, help="py-spy the server during the steps; collapsed stacks here"
        )
        p.add_argument(
            "--queues",
            type=_count_or_zero,
            default=0,
            metavar="K",
            help="K queues, each with its own number and skill, agents holding two skills each "
            "(bench/queues.py); 0: the one default queue",
        )
    scale = sub.add_parser("scale", help="scaling sweep: fresh server per N, M = N/10, rate steps")
    _server_flags(scale)
    scale.add_argument("--agents", type=_positive_ints, default=[10, 100, 1000])
    scale.add_argument("--rates", type=_positive_floats, default=[5.0, 10.0, 20.0, 50.0, 200.0])
    scale.add_argument("--duration", type=float, default=8.0)
    scale.add_argument("--drain", type=float, default=8.0)
    scale.add_argument("--phone-sample", type=int, default=300)
    _texts_flag(scale)
    fan = sub.add_parser("fanout", help="CometD fan-out: smsdesk vs Faye, same clients, one run")
    _server_flags(fan)
    fan.add_argument("-k", "--subscribers", type=int, default=200)
    fan.add_argument("--publishers", type=int, default=8)
    fan.add_argument("--rate", type=float, default=50.0, help="publishes/s in the paced phase")
    fan.add_argument("--duration", type=float, default=10.0, help="seconds per phase")
    fan.add_argument("--no-faye", action="store_true", help="smsdesk only (no node)")
    idle = sub.add_parser("idle", help="server RSS per idle connected agent")
    _server_flags(idle)
    idle.add_argument("-k", "--clients", type=int, default=1000)
    idle.add_argument("--settle", type=float, default=2.0, help="seconds to wait before each RSS reading")
    return parser


def _check(args: argparse.Namespace) -> None:
    names = ("agents", "supervisors", "subscribers", "publishers", "clients", "texts_per_session", "workers")
    for name in names:
        value = getattr(args, name, None)
        if isinstance(value, int) and value < (0 if name == "supervisors" else 1):
            raise ValueError(f"--{name} must be >= {0 if name == 'supervisors' else 1}, got {value}")
    for name in ("duration", "drain", "settle"):
        value = getattr(args, name, None)
        if value is not None and value <= 0:
            raise ValueError(f"--{name} must be > 0, got {value}")


async def _with_server(
    args: argparse.Namespace,
    agents: int,
    supervisors: int,
    body: Callable[[ServerProcess, Any], Awaitable[Any]],
) -> Any:
    plan = _queue_plan(args)
    with tempfile.TemporaryDirectory(prefix="smsdesk-bench-") as tmp:
        server = ServerProcess(
            Path(tmp),
            database_url=args.database,
            redis_url=args.redis,
            workers=args.workers,
            env=plan.environment() if plan else None,
        )
        print(f"seeding {agents} agents and {supervisors} supervisors ...", flush=True)
        population = await seed_users(
            server.database_url,
            agents=agents,
            supervisors=supervisors,
            skills=plan.skills_of if plan else None,
        )
        await server.start()
        if server.workers > 1:
            print(f"server: {server.workers} workers serving on port {server.port}", flush=True)
        try:
            return await body(server, population)
        finally:
            await server.stop()


def _queue_plan(args: argparse.Namespace) -> QueuePlan | None:
    k = getattr(args, "queues", 0)
    return QueuePlan(k) if k else None


async def _steps(
    args: argparse.Namespace, agents: int, supervisors: int, rates: Sequence[float]
) -> dict[str, Any]:
    plan = _queue_plan(args)

    async def body(server: ServerProcess, population: Any) -> dict[str, Any]:
        load = ContactCenterLoad(
            server.host,
            server.port,
            population,
            transport=args.transport,
            server_pid=server.pid,
            texts_per_session=args.texts_per_session,
            shared_connections=args.shared_connections,
            idle_connections=args.idle_connections,
            business_for=plan.number_for if plan else None,
        )
        competitor = CompetingLoad(args.competing_cpu) if args.competing_cpu else None
        try:
            t0 = time.perf_counter()
            await load.setup()
            print(
                f"N={agents} agents, M={supervisors} supervisors online in {time.perf_counter() - t0:.1f} s"
            )
            steps: list[dict[str, Any]] = []
            profile = getattr(args, "profile", None)
            profiler = Profiler(server.pid, profile, subprocesses=server.workers > 1) if profile else None
            if profiler is not None:
                await profiler.start()
            if competitor is not None:
                await competitor.start()
            for rate in rates:
                c0 = competitor.sample() if competitor is not None else None
                step = (
                    await load.run_step(
                        rate, args.duration, drain_s=args.drain, phone_sample=args.phone_sample
                    )
                ).to_json()
                c1 = competitor.sample() if competitor is not None else None
                if competitor is not None and c0 is not None and c1 is not None:
                    step["competing_cpu_share"] = competitor.share
                    step["competing_cpu_percent"] = round(cpu_percent(c0, c1), 1)
                steps.append(step)
                print(format_step(step, args.workers), flush=True)
                if (
                    step["inbound_to_invited_ms"]["count"] == 0
                    or (step["inbound_to_invited_ms"]["p99"] or 0) > 5000
                ):
                    print("    (p99 above 5 s: higher rates skipped)")
                    break
            if profiler is not None:
                await profiler.stop()
                _print_profile(profiler.path)
        finally:
            if competitor is not None:
                await competitor.stop()
            await load.close()
        judged = [(s["rate"], _judged_latencies(s)) for s in steps]
        best = highest_passing_rate(judged, P99_LIMIT_MS)
        print(f"highest rate with p99 < {P99_LIMIT_MS:.0f} ms (inbound to agent and supervisor): {best}")
        return {
            "agents": agents,
            "supervisors": supervisors,
            "workers": args.workers,
            "steps": steps,
            "highest_rate_p99_under_100ms": best,
        }

    result: dict[str, Any] = await _with_server(args, agents, supervisors, body)
    return result


def _judged_latencies(step: dict[str, Any]) -> list[Summary]:
    """What the rate verdict looks at: inbound -> offer, reply -> supervisor, and follow-up -> agent when sent."""
    keys = ["inbound_to_invited_ms", "reply_to_supervisor_ms"]
    if step.get("follow_ups"):
        keys.append("follow_up_to_agent_ms")
    return [Summary(**step[key]) for key in keys]


def _print_profile(path: Path) -> None:
    try:
        lines = path.read_text().splitlines()
    except OSError as exc:
        print(f"no profile written ({exc})")
        return
    total, own, incl = hottest(lines, 12)
    print(f"profile: {total} samples with the GIL held ({path})")
    for title, rows in (("self", own), ("inclusive", incl)):
        print(f"  hottest frames, {title}:")
        for pct, frame in rows:
            print(f"    {pct:5.1f}%  {frame}")


async def _fanout(args: argparse.Namespace) -> dict[str, Any]:
    async def body(server: ServerProcess, population: Any) -> dict[str, Any]:
        target = SmsdeskTarget(server.host, server.port, population, server.pid)
        try:
            return await run_fanout(
                target,
                k=args.subscribers,
                publishers=args.publishers,
                rate=args.rate,
                duration_s=args.duration,
            )
        finally:
            await target.close()

    out: dict[str, Any] = {"smsdesk": await _with_server(args, args.publishers, args.subscribers, body)}
    out["smsdesk"]["workers"] = args.workers
    print(format_fanout(out["smsdesk"], args.workers), flush=True)
    if not args.no_faye:
        faye = FayeServer()
        await faye.start()
        target = FayeTarget(faye.port, faye.pid)
        try:
            out["faye"] = await run_fanout(
                target,
                k=args.subscribers,
                publishers=args.publishers,
                rate=args.rate,
                duration_s=args.duration,
            )
        finally:
            await target.close()
            await faye.stop()
        print(format_fanout(out["faye"]))
        s, f = out["smsdesk"]["max"], out["faye"]["max"]
        out["throughput_ratio_smsdesk_over_faye"] = ratio(s["deliveries_per_s"], f["deliveries_per_s"])
        out["paced_p99_ratio_smsdesk_over_faye"] = ratio(
            out["smsdesk"]["paced"]["latency_ms"]["p99"], out["faye"]["paced"]["latency_ms"]["p99"]
        )
        print(
            f"smsdesk / Faye: throughput x{out['throughput_ratio_smsdesk_over_faye']},"
            f" paced p99 x{out['paced_p99_ratio_smsdesk_over_faye']}"
        )
    return out


async def _idle(args: argparse.Namespace) -> dict[str, Any]:
    async def body(server: ServerProcess, population: Any) -> dict[str, Any]:
        return await measure_idle_clients(
            server.host, server.port, server.pid, population, transport=args.transport, settle_s=args.settle
        )

    result: dict[str, Any] = await _with_server(args, args.clients + 1, 0, body)
    result["workers"] = args.workers
    processes = len(result["server_processes"])
    print(
        f"{result['clients']} idle agents: {result['kb_per_agent_total']} KB each"
        f" (login {result['kb_per_agent_login']} KB + CometD {result['kb_per_agent_cometd']} KB);"
        f" RSS {result['rss_before_mb']} -> {result['rss_after_mb']} MB"
        f" (server: {args.workers} worker{'s' if args.workers != 1 else ''},"
        f" RSS summed over {processes} process{'es' if processes != 1 else ''})"
    )
    return result


async def _dispatch(args: argparse.Namespace) -> dict[str, Any]:
    if args.command in ("run", "sweep"):
        return await _steps(args, args.agents, args.supervisors, args.rates)
    if args.command == "scale":
        runs = []
        for n in args.agents:
            runs.append(await _steps(args, n, max(1, n // 10), args.rates))
        return {"runs": runs}
    if args.command == "fanout":
        return await _fanout(args)
    return await _idle(args)


def _run(coro: Awaitable[dict[str, Any]]) -> dict[str, Any]:
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coro)  # type: ignore[arg-type]
    return uvloop.run(coro)  # type: ignore[arg-type]


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    started = environment()
    try:
        _check(args)
        result = _run(_dispatch(args))
    except (ValueError, ServerError, HttpError, BayeuxError, ProcUnavailable, OSError) as exc:
        print(f"smsdesk bench: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    record = {
        "command": args.command,
        "workers": args.workers,
        "args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
    }
    record |= {"environment": started, "result": result}
    path = args.json or Path("bench-results") / f"{time.strftime('%Y%m%d-%H%M%S')}-{args.command}.json"
    print(f"results: {write_json(path, record)}")
    return 0
