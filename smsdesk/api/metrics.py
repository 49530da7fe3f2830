"""``GET /metrics``: Prometheus text (docs/operations.md, "Metrics").

What a process counted (``smsdesk/metrics.py``; every worker's, under ``--workers``) followed by what the
store holds, read at scrape time: queues, sessions by phase, agents by state, the outbox backlog, the leases.

Access: open under ``smsdesk demo``; under ``smsdesk serve`` only with ``Authorization: Bearer
<metrics_token>``, or on ``metrics_port`` (a listener of its own, for a network only Prometheus reaches),
and not at all when neither is set.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import socket
from collections.abc import Iterator
from typing import Any

from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.multiprocess import MultiProcessCollector
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from smsdesk.actions.statistics import queues_of
from smsdesk.metrics import COMETD_CLIENTS, flush_tallies, multiprocess_dir
from smsdesk.notify.hub import NotificationHub
from smsdesk.periodic import Periodic
from smsdesk.runtime import Runtime
from smsdesk.store.statistics import Operations, read_live, read_operations

__all__ = ["MetricsService", "metrics_route"]

log = logging.getLogger("smsdesk.metrics")


class _Families:
    def __init__(self, families: list[Metric]) -> None:
        self.families = families

    def collect(self) -> Iterator[Metric]:
        return iter(self.families)


def _store_families(rt: Runtime, live: dict[str, Any], ops: Operations) -> list[Metric]:
    now = rt.clock.now_ms()
    waiting = GaugeMetricFamily("smsdesk_queue_waiting", "SMS sessions waiting in a queue", labels=["queue"])
    oldest = GaugeMetricFamily(
        "smsdesk_queue_longest_wait_seconds", "How long the oldest waiting session waits", labels=["queue"]
    )
    for name in sorted(queues_of(rt) | set(live)):
        q = live.get(name)
        waiting.add_metric([name], q.waiting if q else 0)
        since = q.oldest_queued_ms if q else None
        oldest.add_metric([name], 0 if since is None else max(0, now - since) / 1000)
    sessions = GaugeMetricFamily("smsdesk_sessions", "Open SMS sessions by phase", labels=["phase"])
    for phase in ("queued", "offered", "active"):
        sessions.add_metric([phase], ops.sessions.get(phase, 0))
    agents = GaugeMetricFamily("smsdesk_agents", "Agents by channel state", labels=["state"])
    for state in ("Ready", "NotReady", "LoggedOut"):
        agents.add_metric([state], ops.agents.get(state, 0))
    backlog = GaugeMetricFamily("smsdesk_outbox_backlog", "Outbound SMS waiting to be sent")
    backlog.add_metric([], ops.outbox_pending)
    age = GaugeMetricFamily("smsdesk_outbox_oldest_age_seconds", "Age of the oldest outbound SMS waiting")
    age.add_metric([], 0 if ops.outbox_oldest_ms is None else max(0, now - ops.outbox_oldest_ms) / 1000)
    leases = GaugeMetricFamily(
        "smsdesk_lease_holder",
        "1 for the node holding a lease (router, statistics)",
        labels=["lease", "holder"],
    )
    for name, holder, until in ops.leases:
        if until > now:
            leases.add_metric([name, holder], 1)
    return [waiting, oldest, sessions, agents, backlog, age, leases]


class MetricsService:
    """The exposition of one process, the gauge of its CometD clients kept current (every ``EVERY_S``) and
    the hot paths' tallies added to their histograms (every ``FLUSH_S``, ``smsdesk/metrics.py``)."""

    EVERY_S = 5.0
    FLUSH_S = 1.0

    def __init__(self, rt: Runtime, hub: NotificationHub) -> None:
        self.rt = rt
        self.hub = hub
        self._counted_at = -self.EVERY_S
        self._loop = Periodic(
            self._count,
            self.FLUSH_S,
            name="smsdesk-metrics",
            log=log,
            what="adding the tallies and counting the CometD clients",
        )

    def count_clients(self) -> None:
        sessions = self.hub.bayeux.sessions()
        ws = sum(1 for s in sessions if s.websocket)
        COMETD_CLIENTS.labels("websocket").set(ws)
        COMETD_CLIENTS.labels("long-polling").set(len(sessions) - ws)

    async def exposition(self) -> bytes:
        self.count_clients()
        flush_tallies()
        directory = multiprocess_dir()
        if directory:
            counted = CollectorRegistry()
            MultiProcessCollector(counted, path=directory)  # type: ignore[no-untyped-call]
            head = generate_latest(counted)
        else:
            head = generate_latest(REGISTRY)
        live = await read_live(self.rt.store)
        ops = await read_operations(self.rt.store)
        stored = CollectorRegistry()
        stored.register(_Families(_store_families(self.rt, live, ops)))
        return head + generate_latest(stored)

    async def _count(self) -> None:
        flush_tallies()
        now = asyncio.get_running_loop().time()
        if now - self._counted_at >= self.EVERY_S:
            self._counted_at = now
            self.count_clients()

    async def start(self) -> None:
        self._loop.start()

    async def close(self) -> None:
        await self._loop.close()
        flush_tallies()  # under --workers the files outlive the process: the last second counts too


def _allowed(request: Request, token: str | None, open_: bool) -> bool:
    if open_:
        return True
    if not token:
        return False
    given = request.headers.get("authorization", "")
    scheme, _, value = given.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(value.strip().encode(), token.encode())


def metrics_route(service: MetricsService, *, token: str | None, open_: bool) -> Route:
    async def endpoint(request: Request) -> Response:
        if not _allowed(request, token, open_):
            if not token:
                return Response("Not Found\n", status_code=404, media_type="text/plain")
            return Response(
                "metrics need Authorization: Bearer <metrics_token>\n",
                status_code=401,
                media_type="text/plain",
                headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
            )
        return Response(await service.exposition(), media_type=CONTENT_TYPE_LATEST)

    return Route("/metrics", endpoint, methods=["GET"])


class MetricsListener:
    """``/metrics`` on ``metrics_port``, open (meant for a network only Prometheus reaches). Every worker
    process listens on the port (``SO_REUSEPORT``): any of them answers for all (multiprocess collector)."""

    def __init__(self, service: MetricsService, host: str, port: int) -> None:
        self.service = service
        self.host, self.port = host, port
        self._server: Any = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        import uvicorn

        app = Starlette(routes=[metrics_route(self.service, token=None, open_=True)])
        sock = socket.socket(socket.AF_INET6 if ":" in self.host else socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if hasattr(socket, "SO_REUSEPORT"):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((self.host, self.port))
        sock.listen(64)
        sock.setblocking(False)
        config = uvicorn.Config(app, lifespan="off", log_level="warning", access_log=False)
        self._server = uvicorn.Server(config)
        self._server.install_signal_handlers = lambda: None  # the main server handles signals
        self._task = asyncio.create_task(self._server.serve(sockets=[sock]), name="smsdesk-metrics-port")

    async def close(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._task is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._task, 5)
