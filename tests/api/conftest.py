from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from smsdesk.app import Worker, build_app
from smsdesk.clock import FakeClock
from smsdesk.config import Settings
from smsdesk.runtime import Runtime
from smsdesk.sms.config import SimulatorSettings, SmsSettings


def accepted(body: dict[str, Any]) -> dict[str, Any]:
    """An answer without the ``referenceId`` an accepted session operation carries (an int when present;
    tests/api/test_conformance_audit.py checks what it is)."""
    body = dict(body)
    if "referenceId" in body:
        assert isinstance(body.pop("referenceId"), int), body
    return body


TEST_QUEUES = ("billing", "vip", "experts", "again", "more", "PostProcessing")


def basic(user: str, password: str = "password") -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


@dataclass
class Api:
    app: FastAPI
    client: httpx.AsyncClient
    clock: FakeClock

    @property
    def rt(self) -> Runtime:
        rt: Runtime = self.app.state.rt
        return rt

    async def get(self, path: str, user: str = "agent1", **kw: Any) -> httpx.Response:
        return await self.client.get(path, headers=basic(user), **kw)

    async def post(self, path: str, body: Any, user: str = "agent1", **kw: Any) -> httpx.Response:
        return await self.client.post(path, json=body, headers=basic(user), **kw)

    async def delete(self, path: str, user: str = "admin") -> httpx.Response:
        return await self.client.delete(path, headers=basic(user))

    async def route(self) -> int:
        """One routing pass (offers, expiries) and one outbox pass, as the background loops would do."""
        n: int = await self.app.state.router.run_once()
        await self.app.state.outbox.run_once()
        return n

    async def send_outbox(self) -> None:
        await self.app.state.outbox.run_once()

    async def text(
        self, text: str, customer: str = "+15551230001", business: str = "+15550000000"
    ) -> dict[str, Any]:
        r = await self.client.post(
            "/sms/simulator/inbound", json={"from": customer, "to": business, "text": text}
        )
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        return body

    async def phone(self, customer: str = "+15551230001") -> list[str]:
        r = await self.client.get("/sms/simulator/outbound", params={"to": customer})
        return [m["text"] for m in r.json()["messages"]]

    async def events(self, name: str, after: int = 0) -> list[dict[str, Any]]:
        """What the user's CometD clients receive: their stored notifications, in order."""
        uid = await self.user_id(name)
        return [
            dict(e.data) | {"_channel": e.channel, "_id": e.id}
            for e in await self.rt.store.read_events([uid], after, 10_000)
        ]

    async def user_id(self, name: str) -> str:
        u = await self.rt.store.get_user_by_name(name)
        assert u is not None
        return u.id


async def make_api(
    tmp_path: Path, clock: FakeClock, *, worker: Worker | None = None, **settings: Any
) -> AsyncIterator[Api]:
    # the queues these tests transfer to and invite through (an unknown queue is refused: docs/routing.md)
    settings.setdefault("queues", {name: {} for name in TEST_QUEUES})
    s = Settings(database_url=f"sqlite:///{tmp_path / 'api.db'}", **settings)
    app = build_app(
        s,
        clock=clock,
        fast_hash=True,
        seed_demo=True,
        sms=SmsSettings(SimulatorSettings(public=True)),
        background=False,
        worker=worker,
    )
    async with LifespanManager(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield Api(app, client, clock)


@pytest.fixture
async def api(tmp_path: Path, clock: FakeClock) -> AsyncIterator[Api]:
    async for a in make_api(tmp_path, clock):
        yield a


@asynccontextmanager
async def node(tmp_path: Path, clock: FakeClock, worker: Worker | None = None) -> AsyncIterator[Api]:
    """One more node (an app with its own caches) on the database under ``tmp_path``; with ``worker``, one
    worker process of a node (its hint bus shared with the other workers in the same directory)."""
    gen = make_api(tmp_path, clock, worker=worker)
    try:
        yield await gen.__anext__()
    finally:
        await gen.aclose()


def count_calls(obj: Any, name: str) -> list[Any]:
    """Record the arguments of every call of the async method ``obj.name`` (which still runs)."""
    calls: list[Any] = []
    original = getattr(obj, name)

    async def counting(*args: Any) -> Any:
        calls.append(args)
        return await original(*args)

    setattr(obj, name, counting)
    return calls
