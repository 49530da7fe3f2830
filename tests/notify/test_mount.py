"""CometD mounted on the outer dispatcher (``NotificationHub.mount``): the websocket on the notifications path,
and long-polling on the path and one segment below it, are answered ahead of the framework's middleware; the
other paths below it still reach the hub's routes through the stack."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import httpx
import pytest
from starlette.types import ASGIApp, Receive, Scope, Send
from websockets.asyncio.client import connect

from smsdesk.api.dispatch import App, HotPaths
from smsdesk.clock import FakeClock
from smsdesk.notify.hub import NotificationHub
from smsdesk.notify.settings import NotifySettings
from tests.notify.helpers import basic, make_hub, serve

pytestmark = pytest.mark.timeout(15)
PATH = "/api/v2/notifications"
HANDSHAKE = {"channel": "/meta/handshake", "version": "1.0", "supportedConnectionTypes": ["websocket"]}


class Seen:
    """A middleware that records the paths of what reached the stack."""

    def __init__(self, app: ASGIApp, paths: list[str]) -> None:
        self.app = app
        self.paths = paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            self.paths.append(scope["path"])
        await self.app(scope, receive, send)


@pytest.fixture
def hub(clock: FakeClock) -> NotificationHub:
    return make_hub(clock, NotifySettings(poll_interval_ms=0))


@pytest.fixture
async def served(hub: NotificationHub) -> AsyncIterator[tuple[str, list[str]]]:
    seen: list[str] = []
    app = App(routes=hub.routes())
    app.add_middleware(Seen, paths=seen)
    app.hot = HotPaths(hub.authenticator, csrf_enabled=False)  # type: ignore[arg-type]
    hub.mount(app.hot)
    await hub.start()
    try:
        async with serve(app) as url:
            yield url, seen
    finally:
        await hub.close()


async def test_cometd_is_answered_ahead_of_the_middleware(served: tuple[str, list[str]]) -> None:
    url, seen = served
    headers = {"Authorization": basic("agent1")}
    async with connect(url.replace("http", "ws") + PATH, additional_headers=headers) as ws:
        await ws.send(json.dumps([HANDSHAKE]))
        assert json.loads(await ws.recv())[0]["successful"]
    async with httpx.AsyncClient(base_url=url, headers=headers) as http:
        for path in (PATH, PATH + "/handshake"):
            r = await http.post(path, json=[{**HANDSHAKE, "supportedConnectionTypes": ["long-polling"]}])
            assert r.status_code == 200 and r.json()[0]["successful"]
        assert seen == []
        deep = await http.post(PATH + "/meta/handshake", json=[{"channel": "/meta/handshake"}])
        assert deep.status_code == 200 and deep.json()[0]["successful"]
    async with connect(url.replace("http", "ws") + PATH + "/x", additional_headers=headers) as ws:
        await ws.send(json.dumps([HANDSHAKE]))
        assert json.loads(await ws.recv())[0]["successful"]
    assert seen == [PATH + "/meta/handshake", PATH + "/x"]
