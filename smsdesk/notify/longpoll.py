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

from smsdesk.limits import is_json_media_type
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


def _bad_request(reason: str, status: int = 400) -> Response:
    return Response(
        encode_batch([{"successful": False, "error": f"{status}::{reason}"}]),
        status,
        media_type="application/json",
    )


class _TooLarge(Exception):
    pass


async def _bounded_body(receive: Receive, limit: int) -> bytes:
    """The body, or ``_TooLarge`` as soon as it passes ``limit`` bytes: nothing beyond it is read."""
    buffer = bytearray()
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect()
        buffer += message.get("body", b"")
        if len(buffer) > limit:
            raise _TooLarge()
        if not message.get("more_body", False):
            return bytes(buffer)


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
        limit = settings.max_message_bytes
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            return _bad_request(f"body too large (limit {limit} bytes)", 413)
        if not is_json_media_type(request.headers.get("content-type")):
            return _bad_request("the body must be JSON, sent with Content-Type: application/json", 415)
        try:
            body = await _bounded_body(request.receive, limit)
            messages = decode_batch(body, max_bytes=limit, max_depth=settings.max_json_depth)
        except _TooLarge:
            return _bad_request(f"body too large (limit {limit} bytes)", 413)
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
            client = request.client.host if request.client else None
            cookies = request.cookies
            browser = cookies.get(BROWSER_COOKIE)
            key = ""
            if any(m.get("channel") == "/meta/handshake" for m in messages):  # what it resumes by
                browser = browser or secrets.token_hex(16)  # the cookie set below
                key = resume_key({**cookies, BROWSER_COOKIE: browser})
            processed = await _process(hub, messages, request.headers, cookies, gone, key, client)
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
    client: str | None = None,
) -> Processed | None:
    principal = await hub.authenticator.authenticate(headers, cookies, client)
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
            messages = decode_batch(
                body, max_bytes=settings.max_message_bytes, max_depth=settings.max_json_depth
            )
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
