"""A websocket peer that stops reading: the endpoint closes it (1008) instead of stalling or buffering.

Driven through the ASGI interface with a fake peer whose ``send`` of data frames never completes, the way a
client that stopped reading blocks a real socket once the TCP buffers are full.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import MutableMapping
from typing import Any

import pytest
from starlette.applications import Starlette

from smsdesk.clock import FakeClock
from smsdesk.notify.settings import NotifySettings
from tests.notify.helpers import basic, make_hub

pytestmark = pytest.mark.timeout(10)


class StuckPeer:
    def __init__(self, frames: list[str]) -> None:
        self.incoming: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.incoming.put_nowait({"type": "websocket.connect"})
        for frame in frames:
            self.incoming.put_nowait({"type": "websocket.receive", "text": frame})
        self.sent: list[MutableMapping[str, Any]] = []
        self.closed = asyncio.Event()

    async def receive(self) -> dict[str, Any]:
        return await self.incoming.get()

    async def send(self, message: MutableMapping[str, Any]) -> None:
        self.sent.append(message)
        if message["type"] == "websocket.send":
            await asyncio.Event().wait()  # the peer never reads: this write never completes
        if message["type"] == "websocket.close":
            self.closed.set()
            self.incoming.put_nowait({"type": "websocket.disconnect", "code": 1008})


def scope() -> dict[str, Any]:
    return {
        "type": "websocket",
        "path": "/api/v2/notifications",
        "raw_path": b"/api/v2/notifications",
        "query_string": b"",
        "headers": [(b"authorization", basic("agent1").encode()), (b"host", b"testserver")],
        "scheme": "ws",
        "server": ("testserver", 80),
        "client": ("127.0.0.1", 1234),
        "root_path": "",
        "subprotocols": [],
        "asgi": {"version": "3.0"},
    }


async def test_stalled_writer_closes_the_socket_after_the_send_timeout() -> None:
    hub = make_hub(FakeClock(), NotifySettings(ws_send_timeout_ms=100))
    app = Starlette(routes=hub.routes())
    peer = StuckPeer([json.dumps([{"channel": "/meta/handshake"}])])
    served = asyncio.create_task(app(scope(), peer.receive, peer.send))
    await asyncio.wait_for(peer.closed.wait(), 5)
    await asyncio.wait_for(served, 5)
    close = peer.sent[-1]
    assert close["type"] == "websocket.close" and close["code"] == 1008
    assert "too slow" in close["reason"]
    assert len(hub.bayeux) == 1  # the session survives: the client may come back with its clientId


async def test_full_outbox_closes_the_socket() -> None:
    hub = make_hub(FakeClock(), NotifySettings(ws_send_timeout_ms=5_000, ws_outbox=2))
    app = Starlette(routes=hub.routes())
    frames = [json.dumps([{"channel": "/meta/handshake"}]) for _ in range(6)]
    peer = StuckPeer(frames)
    served = asyncio.create_task(app(scope(), peer.receive, peer.send))
    await asyncio.wait_for(peer.closed.wait(), 5)
    await asyncio.wait_for(served, 5)
    close = peer.sent[-1]
    assert close["code"] == 1008 and "outbox full" in close["reason"]


class SlowPeer(StuckPeer):
    """A peer whose data writes block until ``release`` (a paused transport that drains later)."""

    def __init__(self, frames: list[str]) -> None:
        super().__init__(frames)
        self.released = asyncio.Event()

    async def send(self, message: MutableMapping[str, Any]) -> None:
        if message["type"] == "websocket.send":
            await self.released.wait()
        self.sent.append(message)
        if message["type"] == "websocket.close":
            self.closed.set()
            self.incoming.put_nowait({"type": "websocket.disconnect", "code": 1000})


async def test_frames_written_after_a_paused_transport_resumes_keep_their_order() -> None:
    hub = make_hub(FakeClock(), NotifySettings(ws_send_timeout_ms=5_000, ws_outbox=8))
    app = Starlette(routes=hub.routes())
    frames = [json.dumps([{"channel": "/meta/handshake", "id": str(i)}]) for i in range(4)]
    peer = SlowPeer(frames)
    served = asyncio.create_task(app(scope(), peer.receive, peer.send))
    for _ in range(100):
        if len(hub.bayeux) == 4:
            break
        await asyncio.sleep(0.01)
    assert [m["type"] for m in peer.sent] == ["websocket.accept"]  # every write waits on the peer
    peer.released.set()
    for _ in range(100):
        if len(peer.sent) == 5:
            break
        await asyncio.sleep(0.01)
    assert [json.loads(m["text"])[0]["id"] for m in peer.sent[1:]] == ["0", "1", "2", "3"]
    peer.incoming.put_nowait({"type": "websocket.disconnect", "code": 1000})
    await asyncio.wait_for(served, 5)
    assert not peer.closed.is_set()  # not closed by us: the client was slow, not too slow
