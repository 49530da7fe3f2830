"""A minimal Bayeux 1.0 client for the load generator: a sans-I/O session plus a thin asyncio driver.

``BayeuxSession`` builds the messages (handshake, subscribe, connect, publish) and digests the replies;
it does no I/O, so tests drive it by hand. ``CometdClient`` runs it over a websocket (the ``websockets``
package) or over long-polling (``smsdesk.bench.http``): handshake, subscribe, then a ``/meta/connect``
loop that hands every delivered event to ``on_event(data, channel, arrival_time)``. The same client talks
to smsdesk and to Faye, which is what makes the fan-out side-by-side fair. Policy: none; it follows the
server's ``advice.reconnect`` only as far as failing loudly (a benchmark client must not hide errors).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson
from websockets.asyncio.client import ClientConnection, connect

from smsdesk.bench.http import HttpConnection, HttpError

__all__ = ["BayeuxError", "BayeuxSession", "CometdClient", "EventHandler", "Received"]

EventHandler = Callable[[dict[str, Any], str, float], None]
TRANSPORTS = ("websocket", "long-polling")


class BayeuxError(Exception):
    """The server refused a Bayeux request (handshake, subscribe, connect) or sent something unreadable."""


@dataclass(slots=True)
class Received:
    events: list[dict[str, Any]] = field(default_factory=list)  # non-meta messages (channel + data)
    connected: bool = False  # a /meta/connect reply arrived: send the next connect
    handshaken: bool = False
    subscribed: int = 0


class BayeuxSession:
    """Client-side protocol state. ``connection_type`` is ``websocket`` or ``long-polling``."""

    def __init__(self, connection_type: str) -> None:
        if connection_type not in TRANSPORTS:
            raise ValueError(f"connection type must be one of {TRANSPORTS}, got {connection_type!r}")
        self.connection_type = connection_type
        self.client_id: str | None = None
        self._next_id = 0
        self.connects = 0

    def _id(self) -> str:
        self._next_id += 1
        return str(self._next_id)

    def _client(self) -> str:
        if self.client_id is None:
            raise BayeuxError("not handshaken yet")
        return self.client_id

    def handshake(self) -> list[dict[str, Any]]:
        return [
            {
                "channel": "/meta/handshake",
                "version": "1.0",
                "supportedConnectionTypes": [self.connection_type],
                "id": self._id(),
            }
        ]

    def subscribe(self, *channels: str) -> list[dict[str, Any]]:
        cid = self._client()
        return [
            {"channel": "/meta/subscribe", "clientId": cid, "subscription": c, "id": self._id()}
            for c in channels
        ]

    def connect(self) -> list[dict[str, Any]]:
        client_id = self._client()
        self.connects += 1
        message: dict[str, Any] = {
            "channel": "/meta/connect",
            "clientId": client_id,
            "connectionType": self.connection_type,
            "id": self._id(),
        }
        if self.connects == 1:
            message["advice"] = {"timeout": 0}
        return [message]

    def publish(self, channel: str, data: Mapping[str, Any]) -> list[dict[str, Any]]:
        return [{"channel": channel, "clientId": self._client(), "data": dict(data), "id": self._id()}]

    def disconnect(self) -> list[dict[str, Any]]:
        return [{"channel": "/meta/disconnect", "clientId": self._client(), "id": self._id()}]

    def receive(self, messages: object) -> Received:
        """Digest one reply batch; raises ``BayeuxError`` on any refused meta message."""
        if isinstance(messages, dict):
            messages = [messages]
        if not isinstance(messages, list):
            raise BayeuxError(f"expected a JSON array of messages, got {type(messages).__name__}")
        out = Received()
        for m in messages:
            if not isinstance(m, dict) or not isinstance(m.get("channel"), str):
                raise BayeuxError(f"malformed Bayeux message: {m!r:.200}")
            channel: str = m["channel"]
            if not channel.startswith("/meta/"):
                if "data" in m:
                    out.events.append(m)
                elif m.get("successful") is False:
                    raise BayeuxError(f"publish to {channel} refused: {m.get('error')}")
                continue
            if m.get("successful") is not True:
                raise BayeuxError(f"{channel} failed: {m.get('error')} advice={m.get('advice')}")
            if channel == "/meta/handshake":
                self.client_id = str(m["clientId"])
                out.handshaken = True
            elif channel == "/meta/subscribe":
                out.subscribed += 1
            elif channel == "/meta/connect":
                out.connected = True
        return out


class CometdClient:
    """Handshake, subscribe and keep a connect loop running; events go to ``on_event``."""

    def __init__(
        self,
        host: str,
        port: int,
        path: str,
        *,
        transport: str = "websocket",
        headers: Mapping[str, str] | None = None,
        on_event: EventHandler | None = None,
    ) -> None:
        self.session = BayeuxSession(transport)
        self.host, self.port, self.path = host, port, path
        self.headers = dict(headers or {})
        self.on_event = on_event or (lambda _d, _c, _t: None)
        self.errors: list[str] = []
        self.events = 0
        self.event_frames = 0  # frames (websocket) or responses (long-polling) that carried events
        self._ws: ClientConnection | None = None
        self._http: HttpConnection | None = None
        self._task: asyncio.Task[None] | None = None

    async def _exchange(self, batch: list[dict[str, Any]]) -> Received:
        """Send a batch and read replies until the batch's meta replies came back (events delivered)."""
        if self._ws is not None:
            await self._ws.send(orjson.dumps(batch).decode())
            while True:
                got = self._digest(orjson.loads(await self._ws.recv()))
                if got.handshaken or got.subscribed or got.connected:
                    return got
        assert self._http is not None
        r = await self._http.request("POST", self.path, batch, self.headers)
        if r.status != 200:
            raise BayeuxError(f"HTTP {r.status} from {self.path}: {r.body[:200]!r}")
        return self._digest(r.json())

    def _digest(self, messages: object) -> Received:
        got = self.session.receive(messages)
        if got.events:
            self.event_frames += 1
            now = time.perf_counter()
            for m in got.events:
                self.events += 1
                self.on_event(m["data"], m["channel"], now)
        return got

    async def start(self, *channels: str) -> None:
        if self.session.connection_type == "websocket":
            url = f"ws://{self.host}:{self.port}{self.path}"
            # Offers permessage-deflate, as every browser does, so that a server accepting it pays for it here.
            self._ws = await connect(
                url,
                additional_headers=self.headers,
                compression="deflate",
                ping_interval=None,
                max_size=2**24,
            )
        else:
            self._http = HttpConnection(self.host, self.port)
        await self._exchange(self.session.handshake())
        for channel in channels:
            await self._exchange(self.session.subscribe(channel))
        await self._exchange(self.session.connect())
        self._task = asyncio.create_task(self._loop())

    async def _loop(self) -> None:
        try:
            if self._ws is not None:
                await self._ws.send(orjson.dumps(self.session.connect()).decode())
                async for frame in self._ws:
                    if self._digest(orjson.loads(frame)).connected:
                        await self._ws.send(orjson.dumps(self.session.connect()).decode())
            else:
                while True:
                    await self._exchange(self.session.connect())
        except asyncio.CancelledError:
            raise
        except (BayeuxError, HttpError, OSError, orjson.JSONDecodeError) as exc:
            self.errors.append(repr(exc))
        except Exception as exc:  # websockets' ConnectionClosed and friends: record, never crash the run
            self.errors.append(repr(exc))

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        if self._ws is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._ws.close(), 2)
        if self._http is not None:
            await self._http.close()
