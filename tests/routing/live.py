"""A live server for the routing tests: the whole app under a real uvicorn (port 0), REST through httpx, and
real CometD clients (``aiocometd-ng``) that record what reaches them."""

from __future__ import annotations

import asyncio
import base64
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from aiocometd_ng.client import Client
from fastapi import FastAPI

from smsdesk.app import build_app
from smsdesk.clock import Clock, FakeClock
from smsdesk.config import Settings
from smsdesk.sms.config import SimulatorSettings, SmsSettings
from tests.notify.helpers import serve
from tests.routing.clients import open_client

CUST = "+15551230001"
BIZ = "+15550000000"


def auth(user: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:password".encode()).decode()}


async def eventually(check: Callable[[], Any], within_s: float = 20.0, what: str = "condition") -> Any:
    """Wait for ``check()`` to return something truthy (it may be async); generous, never a tight timing."""
    deadline = asyncio.get_running_loop().time() + within_s
    while True:
        value = check()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


@dataclass
class Live:
    app: FastAPI
    http: httpx.AsyncClient
    url: str  # the CometD endpoint

    async def post(self, path: str, body: Any, user: str = "agent1") -> dict[str, Any]:
        r = await self.http.post(path, json=body, headers=auth(user))
        out: dict[str, Any] = r.json()
        return out

    async def get(self, path: str, user: str = "agent1") -> dict[str, Any]:
        out: dict[str, Any] = (await self.http.get(path, headers=auth(user))).json()
        return out

    async def ready(self, user: str) -> None:
        assert await self.post("/api/v2/me/channels/sms", {"operationName": "Ready"}, user) == {
            "statusCode": 0
        }

    async def channel(self, user: str) -> dict[str, Any]:
        body = await self.get("/api/v2/me/channels", user)
        state: dict[str, Any] = body["channels"][0]["userState"]
        return state

    async def text(self, text: str = "Hello", customer: str = CUST) -> None:
        r = await self.http.post("/sms/simulator/inbound", json={"from": customer, "to": BIZ, "text": text})
        assert r.json()["statusCode"] == 0, r.text

    async def sessions(self, user: str) -> list[str]:
        uris = (await self.get("/api/v2/me/smssessions", user)).get("uris", [])
        return [u.rsplit("/", 1)[1] for u in uris]

    async def session(self, sid: str, user: str = "supervisor1") -> dict[str, Any]:
        return await self.get(f"/api/v2/smssessions/{sid}", user)

    async def route(self) -> int:
        n: int = await self.app.state.router.run_once()
        return n

    async def user_id(self, name: str) -> str:
        u = await self.app.state.rt.store.get_user_by_name(name)
        assert u is not None
        return str(u.id)


@contextlib.asynccontextmanager
async def live(
    tmp_path: Path, name: str = "live", clock: Clock | None = None, **settings: Any
) -> AsyncIterator[Live]:
    """A server on ``tmp_path/<name>.db``: two of them on one name are two nodes on one database."""
    s = Settings(database_url=f"sqlite:///{tmp_path / (name + '.db')}", **settings)
    app = build_app(
        s,
        clock=clock,
        fast_hash=True,
        seed_demo=True,
        sms=SmsSettings(SimulatorSettings(public=True)),
        background=False,
    )
    async with serve(app) as base, httpx.AsyncClient(base_url=base) as http:
        yield Live(app, http, base + "/api/v2/notifications")


@dataclass
class Listener:
    """A CometD client of ``user`` subscribed to ``topics``; ``messages`` holds each (channel, data)."""

    client: Client
    messages: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    task: asyncio.Task[None] | None = None

    def data(self, channel: str) -> list[dict[str, Any]]:
        return [d for c, d in self.messages if c == channel]

    async def _run(self) -> None:
        async for message in self.client:
            self.messages.append((message.get("channel", ""), message.get("data") or {}))


@contextlib.asynccontextmanager
async def listener(url: str, user: str, *topics: str, avoid: str | None = None) -> AsyncIterator[Listener]:
    c = await open_client(url, user, avoid=avoid)
    try:
        for t in topics:
            await c.subscribe(t)
        lst = Listener(c)
        lst.task = asyncio.create_task(lst._run())
        try:
            yield lst
        finally:
            lst.task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await lst.task
    finally:
        await c.close()


def team_states(lst: Listener, user_name: str) -> list[tuple[str, str | None]]:
    """The (state, reason) of ``user_name`` in a supervisor's team view (``/v2/users``), in order."""
    out = []
    for d in lst.data("/v2/users"):
        if d.get("userName") == user_name:
            us = d["channels"][0]["userState"]
            out.append((us["state"], us.get("reason")))
    return out


async def tick(clock: FakeClock, seconds: float, *routers: Live, step: float = 2.0) -> None:
    """Move a fake clock on by ``seconds`` in steps, letting real clients reconnect between them (a held
    connect answered at its deadline is followed by a new one before the next step), and running a pass of
    ``routers`` after each, as their background loops would (the router lease is kept by renewing it)."""
    left = seconds
    while left > 0:
        clock.advance(min(step, left))
        left -= step
        await asyncio.sleep(0.15)
        for r in routers:
            await r.route()
