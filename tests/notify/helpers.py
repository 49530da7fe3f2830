"""Shared builders for the notification tests: users, a hub on fakes, a tiny Starlette app."""

from __future__ import annotations

import base64
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from aiocometd_ng.extensions import AuthExtension
from starlette.applications import Starlette

from smsdesk.bus.base import Bus
from smsdesk.bus.local import LocalBus
from smsdesk.clock import Clock
from smsdesk.domain.users import Principal, Role
from smsdesk.notify.fakes import MemoryEventSource, StaticAuthenticator
from smsdesk.notify.hub import NotificationHub
from smsdesk.notify.settings import NotifySettings

AGENT = Principal("u-agent1", "agent1", frozenset({Role.AGENT}))
AGENT2 = Principal("u-agent2", "agent2", frozenset({Role.AGENT}))
SUPERVISOR = Principal("u-supervisor1", "supervisor1", frozenset({Role.SUPERVISOR}))
PASSWORD = "password"


def basic(user: str, password: str = PASSWORD) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def authenticator() -> StaticAuthenticator:
    auth = StaticAuthenticator({p.user_name: (PASSWORD, p) for p in (AGENT, AGENT2, SUPERVISOR)})
    auth.sessions["sess-agent1"] = AGENT
    return auth


def make_hub(
    clock: Clock,
    settings: NotifySettings | None = None,
    *,
    bus: Bus | None = None,
    source: MemoryEventSource | None = None,
) -> NotificationHub:
    return NotificationHub(source or MemoryEventSource(), bus or LocalBus(), authenticator(), clock, settings)


def make_app(hub: NotificationHub) -> Starlette:
    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await hub.start()
        await hub.bus.start()
        try:
            yield
        finally:
            await hub.close()
            await hub.bus.close()

    return Starlette(routes=hub.routes(), lifespan=lifespan)


@contextlib.asynccontextmanager
async def serve(app: Starlette) -> AsyncIterator[str]:
    """Run ``app`` under a real uvicorn on 127.0.0.1, port 0; yields the base URL."""
    import asyncio

    import uvicorn

    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


class BasicAuth(AuthExtension):
    """aiocometd's auth extension sending HTTP Basic credentials with every request (handshake included)."""

    def __init__(self, user: str, password: str = "password") -> None:
        self.header = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()

    async def outgoing(self, payload: Any, headers: Any) -> None:
        headers["Authorization"] = self.header

    async def incoming(self, payload: Any, headers: Any = None) -> None:
        return None
