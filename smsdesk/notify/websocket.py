"""WebSocket transport on ``/api/v2/notifications`` (and ``/{tail}``): Bayeux batches as text frames.

The upgrade is authenticated (JSESSIONID cookie for browsers, Basic header for the GWS .NET client); an
unauthenticated upgrade is refused with HTTP 403. One task per socket: the endpoint's own, which reads
frames and hands each batch to ``NotificationHub.handle_websocket``, which never waits (a held
``/meta/connect`` is answered later through the connection's ``deliver``), so a held connect never blocks a
``/meta/subscribe`` sent meanwhile.

Writes do not wait either. ``deliver`` writes a frame at once when the socket accepts it without blocking
(the usual case: the send coroutine is stepped once by hand and finishes); only when the transport is
paused (the client reads slower than we write) does a writer task take over, with later frames waiting in a
bounded outbox. A frame not written within ``ws_send_timeout_ms`` or a full outbox closes the socket (code
1008) — the client's events stay queued (bounded, ``queue.py``) and it reconnects or re-handshakes. Policy
lives in ``bayeux.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Awaitable, Coroutine
from typing import TYPE_CHECKING, Any

from starlette.requests import HTTPConnection
from starlette.routing import BaseRoute, WebSocketRoute
from starlette.types import ASGIApp, Receive, Scope, Send

from smsdesk.domain.users import Principal
from smsdesk.notify.shared import resume_key
from smsdesk.notify.wire import WireError, decode_batch, encode_batch

if TYPE_CHECKING:
    from smsdesk.notify.hub import NotificationHub

__all__ = ["PATH", "websocket_app", "websocket_routes"]

log = logging.getLogger(__name__)
PATH = "/api/v2/notifications"
POLICY_VIOLATION = 1008
INVALID_PAYLOAD = 1007
_NOT_STARTED = object()
RECHECK_S = 10.0  # how often a socket's credentials are checked again, at its next frame
_CREDENTIAL_HEADERS = frozenset({"authorization", "origin", "host"})
Credentials = tuple[dict[str, str], dict[str, str], str | None]  # headers, cookies, client address


async def _finish(coro: Coroutine[Any, Any, None], waiting_on: Any) -> None:
    """Run to its end a coroutine that was stepped once by hand and suspended on ``waiting_on``, the way an
    ``asyncio.Task`` does: what an asyncio coroutine yields is a future whose ``_asyncio_future_blocking``
    flag the consumer clears before waiting on it (or ``None``, a bare yield)."""
    try:
        while True:
            if waiting_on is None:
                await asyncio.sleep(0)
            else:
                waiting_on._asyncio_future_blocking = False
                with contextlib.suppress(Exception):  # the coroutine sees the outcome when resumed
                    await waiting_on
            try:
                waiting_on = coro.send(None)
            except StopIteration:
                return
    finally:
        coro.close()  # a no-op once finished; unwinds it when we are cancelled (send timeout)


class _Connection:
    """One websocket: the hub's ``Sink`` for the clients that connected through it."""

    __slots__ = (
        "checked",
        "clients",
        "closing",
        "credentials",
        "hub",
        "outbox",
        "principal",
        "reader",
        "receive",
        "resume_key",
        "send",
        "writer",
    )

    def __init__(
        self,
        hub: NotificationHub,
        receive: Receive,
        send: Send,
        principal: Principal,
        credentials: Credentials | None = None,
        resume_key: str = "",
    ) -> None:
        self.hub = hub
        self.credentials = credentials  # what the upgrade authenticated with, checked again now and then
        self.checked = hub.clock.monotonic()
        self.resume_key = resume_key
        self.receive = receive
        self.send = send
        self.principal = principal
        self.clients: set[str] = set()
        self.outbox: deque[bytes] | None = None  # frames waiting while the writer task runs
        self.writer: asyncio.Task[None] | None = None
        self.reader: asyncio.Task[Any] | None = asyncio.current_task()  # the endpoint, while it reads
        self.closing: tuple[int, str] | None = None

    @property
    def open(self) -> bool:
        return self.closing is None

    def close_soon(self, code: int, reason: str) -> None:
        """Stop serving this socket; the endpoint then closes it with ``code``."""
        if self.closing is not None:
            return
        self.closing = (code, reason)
        self.hub.detach(self)  # from now on its clients' events stay queued for their next connect
        reader = self.reader
        if reader is not None and reader is not asyncio.current_task():
            reader.cancel()  # interrupt its read; the endpoint knows why from ``closing``

    def deliver(self, frame: bytes) -> None:
        if self.closing is not None:
            return
        if self.writer is not None:
            outbox = self.outbox
            if outbox is None:
                outbox = self.outbox = deque()
            if len(outbox) >= self.hub.settings.ws_outbox:
                self.close_soon(POLICY_VIOLATION, "client too slow: outbox full")
                return
            outbox.append(frame)
            return
        pending = self.send({"type": "websocket.send", "text": frame.decode()})
        waiting_on: Any = _NOT_STARTED
        if isinstance(pending, Coroutine):
            try:
                waiting_on = pending.send(None)
            except StopIteration:
                return  # written
            except Exception:  # the peer is gone
                pending.close()
                self.close_soon(1011, "send failed")
                return
        self.writer = asyncio.ensure_future(self._write(pending, waiting_on))

    async def _write(self, blocked: Awaitable[None], waiting_on: Any) -> None:
        """The slow path: finish the blocked write, then the outbox, each within the send timeout."""
        timeout = self.hub.settings.ws_send_timeout_ms / 1000
        try:
            async with asyncio.timeout(timeout):
                if waiting_on is _NOT_STARTED:
                    await blocked
                else:
                    await _finish(blocked, waiting_on)  # type: ignore[arg-type]  # a started coroutine
            while self.outbox and self.closing is None:
                frame = self.outbox.popleft()
                async with asyncio.timeout(timeout):
                    await self.send({"type": "websocket.send", "text": frame.decode()})
        except TimeoutError:
            self.close_soon(POLICY_VIOLATION, "client too slow: send timed out")
        except Exception:  # the peer is gone
            self.close_soon(1011, "send failed")
        finally:
            self.writer = None
            self.outbox = None

    async def handle(self, text: str) -> None:
        try:
            settings = self.hub.settings
            messages = decode_batch(
                text, max_bytes=settings.max_message_bytes, max_depth=settings.max_json_depth
            )
        except WireError as exc:
            self.deliver(encode_batch([{"successful": False, "error": f"400::{exc}"}]))
            return
        frame = await self.hub.receive_websocket(messages, self.principal, self, self.resume_key)
        if frame is not None:
            self.deliver(frame)

    async def still_authorized(self) -> bool:
        """Whether the upgrade's credentials still authenticate the same user (checked at most every
        ``RECHECK_S``): a logout or a deletion whose bus hint was lost ends the socket all the same."""
        credentials = self.credentials
        now = self.hub.clock.monotonic()
        if credentials is None or now - self.checked < RECHECK_S:
            return True
        self.checked = now
        headers, cookies, client = credentials
        principal = await self.hub.authenticator.authenticate(headers, cookies, client)
        return principal is not None and principal.user_id == self.principal.user_id

    async def read(self) -> None:
        """Read and handle frames until the peer leaves or ``close_soon``."""
        receive, limit = self.receive, self.hub.settings.max_message_bytes
        while self.closing is None:
            message = await receive()
            if message["type"] == "websocket.disconnect":
                return
            if not await self.still_authorized():
                self.close_soon(POLICY_VIOLATION, "authentication required")
                return
            text = message.get("text")
            if text is None:
                raw = message.get("bytes") or b""
                try:
                    text = raw.decode()
                except UnicodeDecodeError:
                    self.close_soon(INVALID_PAYLOAD, "frames must be UTF-8 JSON")
                    return
            if len(text) > limit:
                self.close_soon(1009, f"frame too large (limit {limit} bytes)")
                return
            await self.handle(text)

    async def finish(self) -> None:
        """Forget the socket in the hub, stop the writer, and close the socket if we decided to."""
        self.reader = None
        self.hub.detach(self)
        writer = self.writer
        if writer is not None:
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await writer
        if self.closing is None:
            return
        log.info("closing a notifications websocket: %s", self.closing[1])
        with contextlib.suppress(Exception):
            async with asyncio.timeout(self.hub.settings.ws_send_timeout_ms / 1000):
                code, reason = self.closing
                await self.send({"type": "websocket.close", "code": code, "reason": reason})


class _Endpoint:
    """The ASGI app of the websocket routes, without Starlette's ``WebSocket`` wrapper: fewer objects and
    frames per idle socket, and a frame written is one call into the server."""

    def __init__(self, hub: NotificationHub) -> None:
        self.hub = hub

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        hub = self.hub
        if (await receive())["type"] != "websocket.connect":
            return
        if not hub.settings.websocket:
            await send(
                {
                    "type": "websocket.close",
                    "code": POLICY_VIOLATION,
                    "reason": "websocket transport disabled",
                }
            )
            return
        request = HTTPConnection(scope)
        # the Origin is checked by the authenticator (a page of another site is refused, docs/security.md)
        headers = {k: v for k, v in request.headers.items() if k in _CREDENTIAL_HEADERS}
        cookies = {k: v for k, v in request.cookies.items() if k == "JSESSIONID"}
        client = request.client.host if request.client else None
        key = resume_key(request.cookies)
        del request
        principal = await hub.authenticator.authenticate(headers, cookies, client)
        if principal is None:  # closing before accepting: HTTP 403
            await send(
                {"type": "websocket.close", "code": POLICY_VIOLATION, "reason": "authentication required"}
            )
            return
        await send({"type": "websocket.accept"})
        conn = _Connection(hub, receive, send, principal, (headers, cookies, client), key)
        hub.attach(conn, principal.user_id)
        try:
            await conn.read()
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if conn.closing is None or task is None or task.uncancel() > 0:
                raise  # not our own interruption (close_soon): the server is stopping us
        finally:
            await conn.finish()


def websocket_app(hub: NotificationHub) -> ASGIApp:
    """The ASGI app of a notifications websocket, to mount on ``PATH`` and below it (any tail)."""
    return _Endpoint(hub)


def websocket_routes(hub: NotificationHub) -> list[BaseRoute]:
    endpoint = websocket_app(hub)
    return [
        WebSocketRoute(PATH, endpoint, name="notifications_ws"),
        WebSocketRoute(PATH + "/{tail:path}", endpoint, name="notifications_ws_tail"),
    ]
