"""The hot paths, answered ahead of FastAPI's middleware stack and router.

``App`` is the FastAPI application with one lookup in front: a request whose method and path a ``HotPaths``
table holds (an exact path, or a path whose last segment is its one parameter: one dict lookup either way,
never a scan of the ~100 routes) is answered here, with what the stack behind would do for it:

- ``/api/v2/*`` paths are authenticated by ``authorize`` (the ``AuthMiddleware`` check: 401/403 envelopes,
  CSRF, ``Set-Cookie`` and the CSRF headers on GET/HEAD);
- a ``GwsError`` is its envelope (``gws_error``), an ``HTTPException`` the envelope ``http_error`` gives, any
  other exception is logged and answered HTTP 500 ``statusCode`` 4 (the app's handler for ``Exception``);
- body limits, the JSON media type and malformed JSON are the handlers' own (``read_json_object``: HTTP 413,
  415 and 400, ``statusCode`` 10).

A websocket endpoint added with ``add_websocket`` (CometD's, an ASGI app answering everything itself) is
called directly for its exact path: no middleware frames held per open socket. Anything else (another method
on a hot path, other paths and websockets, lifespan, a ``root_path``) goes to FastAPI unchanged. FastAPI's
native OpenTelemetry, when configured, does not see what is answered here.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Collection
from typing import Any

from fastapi import FastAPI
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from smsdesk.api.auth import Authenticator, authorize, guarded
from smsdesk.api.errors import gws_error, http_error, internal_error
from smsdesk.domain.errors import GwsError
from smsdesk.logs import new_request_id, request_id
from smsdesk.metrics import HTTP_SECONDS

__all__ = ["App", "HotPaths", "errors_as_200"]

log = logging.getLogger("smsdesk")

Endpoint = Callable[[Request], Awaitable[Response]]


class _Hot:
    __slots__ = ("endpoint", "guarded", "methods", "param", "path")

    def __init__(
        self, endpoint: Endpoint, methods: Collection[str], param: str, is_guarded: bool, path: str = ""
    ) -> None:
        self.path = path  # the template, e.g. /api/v2/me/smssessions/{session_id} (metrics)
        self.endpoint = endpoint
        self.methods = frozenset(methods)
        self.param = param  # the name of the last segment's parameter; "" for an exact path
        self.guarded = is_guarded


class HotPaths:
    """A table of hot routes and how to answer them (see the module's doc)."""

    def __init__(self, authenticator: Authenticator, *, csrf_enabled: bool) -> None:
        self._auth = authenticator
        self._csrf = csrf_enabled
        self._exact: dict[str, _Hot] = {}
        self._param: dict[str, _Hot] = {}  # the path up to its last "/" -> route
        self._websockets: dict[str, ASGIApp] = {}

    def add(self, path: str, methods: Collection[str], endpoint: Endpoint) -> None:
        """``path`` is exact (``/sms/simulator/inbound``) or ends with its one parameter
        (``/api/v2/me/smssessions/{session_id}``), which ``request.path_params`` holds."""
        head, _, last = path.rpartition("/")
        if "{" not in path:
            self._exact[path] = _Hot(endpoint, methods, "", guarded(path), path)
        elif "{" not in head and last.startswith("{") and last.endswith("}") and ":" not in last:
            self._param[head] = _Hot(endpoint, methods, last[1:-1], guarded(path), path)
        else:
            raise ValueError(f"not a hot path pattern: {path}")

    def add_route(self, route: Route) -> None:
        """A plain Starlette route's path, methods and endpoint (a function of the request)."""
        self.add(route.path, route.methods or (), route.endpoint)

    def add_websocket(self, path: str, app: ASGIApp) -> None:
        """A websocket endpoint (an ASGI app that authenticates and answers everything itself) at ``path``."""
        self._websockets[path] = app

    def patterns(self) -> list[tuple[str, frozenset[str]]]:
        """Every hot route as ``(path pattern, methods)`` (the API description covers each)."""
        out = [(path, hot.methods) for path, hot in self._exact.items()]
        out += [(f"{head}/{{{hot.param}}}", hot.methods) for head, hot in self._param.items()]
        return out

    def websocket(self, scope: Scope) -> ASGIApp | None:
        return None if scope.get("root_path") else self._websockets.get(scope["path"])

    def match(self, scope: Scope) -> _Hot | None:
        """The hot route of this HTTP request, its parameter set in ``scope["path_params"]``; else None."""
        if scope.get("root_path"):
            return None
        path: str = scope["path"]
        hot = self._exact.get(path)
        if hot is None:
            head, _, last = path.rpartition("/")
            hot = self._param.get(head)
            if hot is None or not last:
                return None
            if scope["method"] not in hot.methods:
                return None
            scope["path_params"] = {hot.param: last}
            return hot
        return hot if scope["method"] in hot.methods else None

    async def serve(self, hot: _Hot, scope: Scope, receive: Receive, send: Send) -> None:
        extra: list[tuple[bytes, bytes]] | None = None
        try:
            if hot.guarded:
                extra = await authorize(self._auth, self._csrf, scope, receive, send)
                if extra is None:  # refused, and answered
                    return
            response = await hot.endpoint(Request(scope, receive))
        except GwsError as exc:
            response = gws_error(exc)
        except HTTPException as exc:
            response = http_error(exc)
        except Exception as exc:
            log.exception("unexpected error", exc_info=exc)
            response = internal_error()
        if extra:
            response.raw_headers.extend(extra)
        await response(scope, receive, send)


_NOTIFICATIONS = "/api/v2/notifications"  # CometD: Bayeux answers in its own messages


def errors_as_200(send: Send) -> Send:
    """``error_http_status = "200"`` (docs/api.md): a GWS error envelope answered with HTTP 200, the same body.
    Every answer of ``/api/…`` with an HTTP status of 400 or more is such an envelope (``api/errors.py``, the
    app's exception handlers, ``authorize``); 401 keeps its status and ``WWW-Authenticate`` challenge."""

    async def send_as_200(message: Message) -> None:
        if message["type"] == "http.response.start" and message["status"] >= 400 and message["status"] != 401:
            message = {**message, "status": 200}
        await send(message)

    return send_as_200


def _header(scope: Scope, name: bytes) -> str | None:
    for k, v in scope["headers"]:
        if k == name:
            return str(v.decode("latin-1"))
    return None


class TimedSend:
    """Wraps ``send`` to learn the status; ``observe`` records the request's duration by route template."""

    __slots__ = ("request_id", "send", "start", "status")

    def __init__(self, send: Send) -> None:
        self.send = send
        self.start = time.perf_counter()
        self.status = 0
        self.request_id: str | None = None

    async def __call__(self, message: Any) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
            if self.request_id is not None:
                headers = [*message.get("headers", ()), (b"x-request-id", self.request_id.encode())]
                message = {**message, "headers": headers}
        await self.send(message)

    def observe(self, scope: Scope, template: str | None) -> None:
        if template is None:
            found = scope.get("route")
            template = getattr(found, "path", None) or "other"  # unknown paths: one label, not one each
        HTTP_SECONDS.observe(time.perf_counter() - self.start, scope["method"], template, str(self.status))


class App(FastAPI):
    """FastAPI with ``hot`` (when set) looked up first for every HTTP request and websocket; with
    ``errors_as_200``, the GWS errors of ``/api/…`` are answered HTTP 200 (docs/api.md)."""

    hot: HotPaths | None = None
    errors_as_200: bool = False

    request_ids = False  # log_format = json: every request gets an id, in its logs and X-Request-ID

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        hot = self.hot
        if (
            self.errors_as_200
            and scope["type"] == "http"
            and scope["path"].startswith("/api/")
            and not scope["path"].startswith(_NOTIFICATIONS)
        ):
            send = errors_as_200(send)
        if hot is not None and scope["type"] == "http":
            timed = TimedSend(send)
            token = None
            if self.request_ids:
                timed.request_id = new_request_id(_header(scope, b"x-request-id"))
                token = request_id.set(timed.request_id)
            route = hot.match(scope)
            try:
                if route is not None:
                    scope["app"] = self
                    await hot.serve(route, scope, receive, timed)
                else:
                    await super().__call__(scope, receive, timed)
            finally:
                timed.observe(scope, route.path if route is not None else None)
                if token is not None:
                    request_id.reset(token)
            return
        elif hot is not None and scope["type"] == "websocket":
            app = hot.websocket(scope)
            if app is not None:
                scope["app"] = self
                await app(scope, receive, send)
                return
        await super().__call__(scope, receive, send)
