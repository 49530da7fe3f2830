"""The composition root: ``build_app(settings)`` constructs store, bus, notification hub, SMS providers and
services, picks implementations from the settings, and wires them into one ASGI app. Nothing else builds them.
"""

from __future__ import annotations

import ctypes
import logging
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from smsdesk import __version__
from smsdesk.actions.history import FullTextIndexer
from smsdesk.actions.inbound import receive_sms, receive_status
from smsdesk.actions.outbox import SqlOutbox
from smsdesk.actions.references import ReferenceBlocks
from smsdesk.actions.retention import RetentionLoop
from smsdesk.actions.routing import Router
from smsdesk.actions.session_cache import cache_hints, reference_hints
from smsdesk.actions.statistics import Statistics, StatisticsPublisher
from smsdesk.api.auth import Authenticator, AuthMiddleware, admin_only
from smsdesk.api.description import install as install_openapi
from smsdesk.api.dispatch import App, HotPaths
from smsdesk.api.errors import GwsJSONResponse, error_response, gws_error, http_error, internal_error
from smsdesk.api.metrics import MetricsListener, MetricsService, metrics_route
from smsdesk.api.rest import (
    features,
    history,
    me,
    media,
    queues,
    reports,
    skills,
    smssessions,
    statistics,
    supervision,
    tools,
    users,
)
from smsdesk.api.revocation import AccessRevocation
from smsdesk.api.routes import allowed_methods
from smsdesk.bus.base import Bus
from smsdesk.bus.local import LocalBus
from smsdesk.bus.messages import EVENTS_TOPIC
from smsdesk.bus.peers import PeerBus
from smsdesk.bus.redis import RedisBus
from smsdesk.clock import Clock, SystemClock
from smsdesk.config import Settings
from smsdesk.domain.errors import GwsError
from smsdesk.domain.routing import presence_beat_s
from smsdesk.notify.channels import STATISTICS_CHANNEL, any_supervisor_watches
from smsdesk.notify.hub import NotificationHub
from smsdesk.notify.presence import PresenceBeat
from smsdesk.notify.relay import Relay
from smsdesk.notify.settings import NotifySettings
from smsdesk.passwords import Passwords
from smsdesk.runtime import Runtime
from smsdesk.sms.base import InboundAck, InboundSms, SmsProvider, StatusUpdate
from smsdesk.sms.config import SmsSettings
from smsdesk.sms.outbox import OutboxWorker
from smsdesk.sms.registry import ProviderRegistry
from smsdesk.sms.routes import build_sms_routes
from smsdesk.sms.simulator import SimulatorProvider
from smsdesk.sms.smpp import SmppProvider
from smsdesk.sms.twilio import TwilioProvider
from smsdesk.sms.twilio_media import TwilioMediaFetcher
from smsdesk.store.migrate import migrate
from smsdesk.store.sql import SqlStore, create_store
from smsdesk.web.routes import build_web_routes
from smsdesk.workers import RouterLoop, SessionCleanupLoop

__all__ = ["Worker", "build_app"]

log = logging.getLogger("smsdesk")

_M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter


def _fixed_mmap_threshold(threshold: int = 128 * 1024) -> bool:
    """glibc raises its mmap threshold up to the largest block freed (Argon2 frees megabytes per password
    verification), after which blocks of 128 KB and more are carved from the heap and, freed, keep their
    pages: about 8 KB of resident memory per logged-in agent, measured. A fixed threshold keeps them mapped
    and returned. Elsewhere than glibc this does nothing."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    return bool(mallopt(_M_MMAP_THRESHOLD, threshold))


@dataclass(frozen=True, slots=True)
class Worker:
    """This process is one of the worker processes of a node (``smsdesk serve --workers N``): ``directory``
    holds the workers' Unix sockets (the hint bus, the long-polling relay), ``name`` tells this one apart."""

    directory: Path
    name: str


def _bus(settings: Settings, worker: Worker | None) -> Bus:
    if settings.redis_url:
        return RedisBus(settings.redis_url)
    if worker is not None:
        return PeerBus(worker.directory, worker.name)
    return LocalBus()


def build_runtime(
    settings: Settings, *, clock: Clock | None = None, store: SqlStore | None = None, fast_hash: bool = False
) -> Runtime:
    store = store or create_store(
        settings.database_url,
        pg_read_connections=settings.pg_read_connections,
        pg_write_connections=settings.pg_write_connections,
    )
    store.service_level_ms = settings.service_level_s * 1000
    return Runtime(
        settings=settings,
        store=store,
        clock=clock or SystemClock(),
        passwords=Passwords(fast=fast_hash),
        # several processes write PostgreSQL: referenceIds in blocks, no user row locked per write group
        reference_blocks=ReferenceBlocks(store) if store.dialect == "postgresql" else None,
    )


def _install_error_handlers(app: FastAPI) -> None:
    async def on_gws(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, GwsError)
        return gws_error(exc)

    async def on_http(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        if exc.status_code == 405:  # the router's Allow names one route's methods: name the URL's
            exc = HTTPException(405, headers={"Allow": allowed_methods(app.router.routes, request.scope)})
        return http_error(exc)

    async def on_validation(_: Request, exc: Exception) -> Response:
        return error_response(10, f"Invalid request: {exc}")

    async def on_unexpected(_: Request, exc: Exception) -> Response:
        log.exception("unexpected error", exc_info=exc)
        return internal_error()

    app.add_exception_handler(GwsError, on_gws)
    app.add_exception_handler(HTTPException, on_http)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(Exception, on_unexpected)


def _providers(rt: Runtime, sms: SmsSettings) -> tuple[ProviderRegistry, SimulatorProvider | None]:
    async def inbound(m: InboundSms) -> InboundAck:
        return await receive_sms(rt, m)

    async def status(u: StatusUpdate) -> None:
        await receive_status(rt, u)

    providers: dict[str, SmsProvider] = {}
    simulator = SimulatorProvider(rt.clock) if sms.simulator.enabled else None
    if simulator is not None:
        providers["simulator"] = simulator
    if sms.twilio is not None:
        providers["twilio"] = TwilioProvider(sms.twilio)
    if sms.smpp is not None:
        providers["smpp"] = SmppProvider(sms.smpp, clock=rt.clock, inbound_sink=inbound, status_sink=status)
    return ProviderRegistry(providers, sms.bindings(), default=sms.fallback()), simulator


def build_app(
    settings: Settings,
    *,
    clock: Clock | None = None,
    runtime: Runtime | None = None,
    fast_hash: bool = False,
    seed_demo: bool = False,
    sms: SmsSettings | None = None,
    background: bool = True,
    worker: Worker | None = None,
    demo: bool | None = None,
) -> FastAPI:
    """``background=False`` leaves the router and outbox loops stopped: tests drive them by hand with
    ``app.state.router.run_once()`` and ``app.state.outbox.run_once()``. ``worker``: this process is one of
    several workers of the node (docs/deployment.md)."""
    rt = runtime or build_runtime(settings, clock=clock, fast_hash=fast_hash)
    if worker is not None and rt.reference_blocks is None:  # several processes answer one user: blocks
        rt.reference_blocks = ReferenceBlocks(rt.store)  # (docs/sessions.md, "referenceId")
    authenticator = Authenticator(rt)
    bus = _bus(settings, worker)
    shared = settings.shares_cometd_clients  # clients in the store: any node, any worker serves them
    relay = Relay(worker.directory, worker.name) if worker is not None and not shared else None
    # a worker's lease and presence rows name it (w<pid>.<token>): the operator sees which process routes
    node = f"{worker.name}." if worker is not None else ""
    # subscribes to the bus: before bus.start()
    presence = None
    if settings.presence_grace_s > 0:  # docs/routing.md, "Presence"
        beat_s = presence_beat_s(settings.presence_grace_s)
        presence = PresenceBeat(rt.store, rt.clock, node + rt.ids.token(), beat_s)
    notify = NotifySettings(cookie_secure=settings.cookie_secure, max_json_depth=settings.max_json_depth)
    hub = NotificationHub(
        rt.store,
        bus,
        authenticator,
        rt.clock,
        notify,
        relay=relay,
        presence=presence,
        shared=rt.store if shared else None,
        resume_s=settings.cometd_resume_s,
    )
    rt.publisher = hub
    revocation = AccessRevocation(bus, authenticator, hub.drop_user)
    bus.subscribe(EVENTS_TOPIC, cache_hints(rt.session_cache))
    bus.subscribe(EVENTS_TOPIC, reference_hints(rt.reference_answered))  # referenceIds taken elsewhere
    sms_settings = sms or SmsSettings.from_env(os.environ, demo=seed_demo)
    registry, simulator = _providers(rt, sms_settings)
    sms_settings.check_numbers(settings.number_queues)  # startup refuses a number no provider serves
    rt.provider_name_for = registry.provider_name_for
    rt.provider_available = registry.has
    rt.owns_number = registry.owns
    outbox = OutboxWorker(SqlOutbox(rt), registry.providers, rt.clock, lambda u: receive_status(rt, u))
    twilio = sms_settings.twilio
    twilio_media = None if twilio is None else TwilioMediaFetcher(twilio, settings.media_max_bytes)
    rt.wake_outbox = outbox.wake
    router = RouterLoop(Router(rt), bus=bus, node_id=node + rt.ids.token())
    rt.wake_router = router.wanted
    rt.agents_committed = router.agents_committed
    rt.skills_changed = router.router.forget_users
    if simulator is not None:
        simulator.read_from(rt.store)  # every process's simulated handsets show what any of them sent
    cleanup = SessionCleanupLoop(rt)
    stats = Statistics(rt)
    retention = RetentionLoop(rt)
    indexer = FullTextIndexer(rt)
    stats_publisher = StatisticsPublisher(
        stats,
        bus,
        interval_s=settings.statistics_interval_s,
        watching=lambda: any_supervisor_watches(hub.bayeux.sessions(), STATISTICS_CHANNEL),
    )
    metrics = MetricsService(rt, hub)
    metrics_listener = (
        MetricsListener(metrics, settings.host, settings.metrics_port) if settings.metrics_port else None
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[dict[str, Any]]:
        _fixed_mmap_threshold()
        await migrate(rt.store)
        if seed_demo:
            from smsdesk.demo import seed_demo_data

            await seed_demo_data(rt)
        await hub.start()
        if presence is not None:
            await presence.start()
        await bus.start()
        await registry.start_all()
        await metrics.start()
        if metrics_listener is not None:
            await metrics_listener.start()
        if background:
            await outbox.start()
            await router.start()
            await cleanup.start()
            await stats_publisher.start()
            await retention.start()
            await indexer.start()
        try:
            yield {}
        finally:
            await indexer.close()
            await retention.close()
            await stats_publisher.close()
            if metrics_listener is not None:
                await metrics_listener.close()
            await metrics.close()
            await cleanup.close()
            await router.close()
            await outbox.close()
            await registry.close_all()
            if twilio_media is not None:
                await twilio_media.close()
            if presence is not None:
                await presence.close()
            await hub.close()
            await bus.close()
            await rt.store.close()

    app = App(title="smsdesk", version=__version__, lifespan=lifespan, docs_url="/api/docs", redoc_url=None)
    app.state.rt = rt
    app.request_ids = settings.log_format == "json"
    app.state.authenticator = authenticator
    app.state.hub = hub
    app.state.revocation = revocation
    app.state.presence = presence
    app.state.router = router
    app.state.outbox = outbox
    app.state.simulator = simulator
    app.state.statistics = stats
    app.state.statistics_publisher = stats_publisher
    app.state.retention = retention
    sms_routes = build_sms_routes(
        clock=rt.clock,
        inbound_sink=lambda m: receive_sms(rt, m),
        status_sink=lambda u: receive_status(rt, u),
        simulator=simulator,
        twilio=sms_settings.twilio,
        simulator_guard=None if sms_settings.simulator.public else admin_only(authenticator),
        twilio_media=twilio_media,
        media_max_bytes=settings.media_max_bytes,
    )
    # plain Starlette routes first: CometD is the hottest path, then the hottest REST calls (their FastAPI
    # routes stay registered for the OpenAPI schema, behind these)
    plain = [*smssessions.plain_routes(), *me.plain_routes(), *sms_routes]
    # /metrics: open in the demo; in `serve` behind metrics_token (docs/operations.md)
    open_metrics = seed_demo if demo is None else demo  # `smsdesk demo` (its workers do not seed)
    plain.append(metrics_route(metrics, token=settings.metrics_token, open_=open_metrics))
    app.router.routes[:0] = [*hub.routes(), *plain, *build_web_routes()]
    _install_error_handlers(app)
    for module in (
        me,
        users,
        features,
        smssessions,
        supervision,
        queues,
        skills,
        statistics,
        history,
        reports,
        tools,
        media,
    ):
        app.include_router(module.router)

    @app.get("/health", include_in_schema=False)
    async def health() -> GwsJSONResponse:
        return GwsJSONResponse({"statusCode": 0, "version": __version__})

    install_openapi(
        app, settings, simulator_public=sms_settings.simulator.public
    )  # /openapi.json: every route above, described (smsdesk/api/openapi.py)
    app.add_middleware(AuthMiddleware, authenticator=authenticator, csrf_enabled=settings.csrf_enabled)
    # the hottest calls are answered ahead of the whole stack, as it would (smsdesk.api.dispatch)
    app.hot = HotPaths(authenticator, csrf_enabled=settings.csrf_enabled)
    app.errors_as_200 = settings.error_http_status == "200"
    for route in plain:
        if isinstance(route, Route) and route.methods == {"POST"}:
            app.hot.add_route(route)
    hub.mount(app.hot)  # CometD: its websocket and long-polling too (its routes above serve other tails)
    return app
