"""WebSocket transport on ``/api/v2/notifications`` (and ``/{tail}``): Bayeux batches as text frames.

The upgrade is authenticated (JSESSIONID cookie for browsers, Basic header for the GWS .NET client); an
unauthenticated upgrade is refused with HTTP 403. Each received batch is processed on its own task, so a
held ``/meta/connect`` never blocks a ``/meta/subscribe`` sent meanwhile. Frames go out through a bounded
outbox written by one sender task; a frame that cannot be written within ``ws_send_timeout_ms`` or a full
outbox closes the socket (code 1008) — the client's events stay queued (bounded, ``queue.py``) and it
reconnects or re-handshakes. Policy lives in ``bayeux.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING, Any

from starlette.routing import BaseRoute, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from smsdesk.notify.bayeux import Transport
from smsdesk.notify.wire import WireError, decode_batch, encode_batch

if TYPE_CHECKING:
    from smsdesk.notify.hub import NotificationHub

__all__ = ["websocket_routes"]

log = logging.getLogger(__name__)
PATH = "/api/v2/notifications"
POLICY_VIOLATION = 1008
INVALID_PAYLOAD = 1007


class _Connection:
    def __init__(self, hub: NotificationHub, ws: WebSocket) -> None:
        self.hub = hub
        self.ws = ws
        self.outbox: asyncio.Queue[bytes | None] = asyncio.Queue(maxsize=hub.settings.ws_outbox)
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.tasks: set[asyncio.Task[None]] = set()
        self.closing: tuple[int, str] | None = None

    def close_soon(self, code: int, reason: str) -> None:
        """Stop serving this socket; the endpoint then closes it with ``code``."""
        if not self.closed.done():
            self.closing = (code, reason)
            self.closed.set_result(None)

    async def close(self) -> None:
        if self.closing is None:
            return
        log.info("closing a notifications websocket: %s", self.closing[1])
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.ws.close(*self.closing), self.hub.settings.ws_send_timeout_ms / 1000)

    def send(self, frame: bytes) -> None:
        try:
            self.outbox.put_nowait(frame)
        except asyncio.QueueFull:
            self.close_soon(POLICY_VIOLATION, "client too slow: outbox full")

    async def sender(self) -> None:
        timeout = self.hub.settings.ws_send_timeout_ms / 1000
        while True:
            frame = await self.outbox.get()
            if frame is None:
                return
            try:
                await asyncio.wait_for(self.ws.send_text(frame.decode()), timeout)
            except TimeoutError:
                self.close_soon(POLICY_VIOLATION, "client too slow: send timed out")
                return
            except Exception:  # the peer is gone
                self.close_soon(1011, "send failed")
                return

    async def handle(self, text: str, principal: Any) -> None:
        try:
            messages = decode_batch(text, max_bytes=self.hub.settings.max_message_bytes)
        except WireError as exc:
            self.send(encode_batch([{"successful": False, "error": f"400::{exc}"}]))
            return
        processed = await self.hub.process(messages, principal, Transport.WEBSOCKET, self.closed)
        if processed is not None and processed.replies:
            self.send(encode_batch(processed.replies))

    def spawn(self, text: str, principal: Any) -> None:
        task = asyncio.ensure_future(self.handle(text, principal))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)


def websocket_routes(hub: NotificationHub) -> list[BaseRoute]:
    async def endpoint(ws: WebSocket) -> None:
        if not hub.settings.websocket:
            await ws.close(POLICY_VIOLATION, "websocket transport disabled")
            return
        principal = await hub.authenticator.authenticate(ws.headers, ws.cookies)
        if principal is None:
            await ws.close(POLICY_VIOLATION, "authentication required")  # before accept: HTTP 403
            return
        await ws.accept()
        conn = _Connection(hub, ws)
        sender = asyncio.ensure_future(conn.sender())
        limit = hub.settings.max_message_bytes
        try:
            while not conn.closed.done():
                receive = asyncio.ensure_future(ws.receive())
                waiting: set[asyncio.Future[Any]] = {receive, conn.closed}
                await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
                if not receive.done():
                    receive.cancel()
                    break
                message = receive.result()
                if message["type"] == "websocket.disconnect":
                    break
                text = message.get("text")
                if text is None:
                    raw = message.get("bytes") or b""
                    try:
                        text = raw.decode()
                    except UnicodeDecodeError:
                        conn.close_soon(INVALID_PAYLOAD, "frames must be UTF-8 JSON")
                        break
                if len(text) > limit:
                    conn.close_soon(1009, f"frame too large (limit {limit} bytes)")
                    break
                conn.spawn(text, principal)
        except WebSocketDisconnect:
            pass
        finally:
            if not conn.closed.done():
                conn.closed.set_result(None)
            for task in list(conn.tasks):
                task.cancel()
            for task in list(conn.tasks):
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            sender.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sender
            await conn.close()

    return [
        WebSocketRoute(PATH, endpoint, name="notifications_ws"),
        WebSocketRoute(PATH + "/{tail:path}", endpoint, name="notifications_ws_tail"),
    ]
