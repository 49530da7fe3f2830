"""Long-polling transport: ``POST /api/v2/notifications`` and ``POST /api/v2/notifications/{tail}``.

A thin driver: read and decode the body, authenticate, hand the batch to the hub, and race a held
``/meta/connect`` against the client going away. It sets the ``BAYEUX_BROWSER`` cookie at handshake.
Policy lives in ``bayeux.py``. With several worker processes, a batch whose client another worker holds is
passed to that worker (``relay.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from starlette.requests import ClientDisconnect, Request, cookie_parser
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from starlette.types import Receive

from smsdesk.notify.bayeux import Transport
from smsdesk.notify.relay import RelayHandler
from smsdesk.notify.shared import resume_key
from smsdesk.notify.wire import WireError, decode_batch, encode_batch

if TYPE_CHECKING:
    from smsdesk.notify.hub import NotificationHub, Processed

__all__ = ["BROWSER_COOKIE", "PATH", "longpoll_endpoint", "longpoll_routes", "relay_handler"]

_T = TypeVar("_T")

BROWSER_COOKIE = "BAYEUX_BROWSER"
PATH = "/api/v2/notifications"


def _bad_request(reason: str) -> Response:
    return Response(
        encode_batch([{"successful": False, "error": f"400::{reason}"}]), 400, media_type="application/json"
    )


async def _wait_disconnect(receive: Receive) -> None:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return


def longpoll_routes(hub: NotificationHub) -> list[BaseRoute]:
    endpoint = longpoll_endpoint(hub)
    return [
        Route(PATH, endpoint, methods=["POST"], name="notifications"),
        Route(PATH + "/{tail:path}", endpoint, methods=["POST"], name="notifications_tail"),
    ]


def longpoll_endpoint(hub: NotificationHub) -> Callable[[Request], Awaitable[Response]]:
    """The request handler of ``POST PATH`` and ``POST PATH/{tail}`` (the tail is not read)."""
    settings = hub.settings
    relay = hub.relay

    async def endpoint(request: Request) -> Response:
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > settings.max_message_bytes:
            return _bad_request(f"body too large (limit {settings.max_message_bytes} bytes)")
        try:
            body = await request.body()
            messages = decode_batch(body, max_bytes=settings.max_message_bytes)
        except WireError as exc:
            return _bad_request(str(exc))
        except ClientDisconnect:
            return Response(status_code=400)
        gone: asyncio.Future[Any] = asyncio.ensure_future(_wait_disconnect(request.receive))
        try:
            target = relay.target(messages) if relay is not None else None
            if relay is not None and target is not None:  # another worker holds this client (relay.py)
                answered = await _race(relay.forward(target, body, request.headers), gone)
                if answered is not None:
                    status, answer = answered
                    return Response(answer, status, media_type="application/json")
                if gone.done():
                    return Response(status_code=204)
            cookies = request.cookies
            browser = cookies.get(BROWSER_COOKIE)
            key = ""
            if any(m.get("channel") == "/meta/handshake" for m in messages):  # what it resumes by
                browser = browser or secrets.token_hex(16)  # the cookie set below
                key = resume_key({**cookies, BROWSER_COOKIE: browser})
            processed = await _process(hub, messages, request.headers, cookies, gone, key)
        finally:
            gone.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await gone
        if processed is None:  # the client went away while its connect was held
            return Response(status_code=204)
        response = Response(encode_batch(processed.replies), media_type="application/json")
        if processed.handshake is not None and BROWSER_COOKIE not in request.cookies:
            response.set_cookie(
                BROWSER_COOKIE,
                browser or secrets.token_hex(16),
                httponly=True,
                secure=settings.cookie_secure,
                samesite="lax",
                path="/",
            )
        return response

    return endpoint


async def _process(
    hub: NotificationHub,
    messages: list[dict[str, Any]],
    headers: Mapping[str, str],
    cookies: Mapping[str, str],
    gone: asyncio.Future[Any],
    key: str | None = None,
) -> Processed | None:
    principal = await hub.authenticator.authenticate(headers, cookies)
    key = resume_key(cookies) if key is None else key
    return await hub.process(messages, principal, Transport.LONG_POLLING, gone, key)


async def _race(work: Awaitable[_T], gone: asyncio.Future[Any]) -> _T | None:
    """``work``'s result, or ``None`` (``work`` cancelled) when ``gone`` fires first."""
    task = asyncio.ensure_future(work)
    await asyncio.wait({task, gone}, return_when=asyncio.FIRST_COMPLETED)
    if task.done():
        return task.result()
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    return None


def relay_handler(hub: NotificationHub) -> RelayHandler:
    """Answers the batches other workers relay here (``relay.py``): the same as ``endpoint`` but for the
    browser cookie, which only a handshake sets and a handshake is never relayed."""
    settings = hub.settings

    async def handle(body: bytes, headers: Mapping[str, str], gone: asyncio.Future[Any]) -> tuple[int, bytes]:
        try:
            messages = decode_batch(body, max_bytes=settings.max_message_bytes)
        except WireError as exc:
            return 400, encode_batch([{"successful": False, "error": f"400::{exc}"}])
        cookies = _cookies(headers.get("cookie", ""))
        processed = await _process(hub, messages, headers, cookies, gone)
        if processed is None:
            return 204, b""
        return 200, encode_batch(processed.replies)

    return handle


def _cookies(header: str) -> dict[str, str]:
    return cookie_parser(header) if header else {}
