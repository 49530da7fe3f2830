"""The hot paths are answered ahead of FastAPI's stack (smsdesk.api.dispatch), exactly as the stack answers
them: each request below gets the same status, headers and body with the dispatcher and without it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from smsdesk.api.dispatch import App, HotPaths
from tests.api.conftest import Api, basic

AGENT = basic("agent1")
SCRIPTED = {"X-Requested-With": "XMLHttpRequest"}
BIG = b'{"operationName": "Accept", "pad": "' + b"x" * 1_000_001 + b'"}'


async def _chunks() -> AsyncIterator[bytes]:
    for _ in range(11):
        yield b" " * 100_000
    yield b'{"operationName": "Accept"}'


CASES: list[tuple[str, str, dict[str, Any]]] = [
    ("POST", "/api/v2/me/smssessions/nope", {"json": {"operationName": "Accept"}, "headers": AGENT}),
    ("POST", "/api/v2/smsessions/nope", {"json": {"operationName": "Accept"}, "headers": AGENT}),
    ("POST", "/api/v2/me/smssessions/nope", {"content": b"{", "headers": AGENT}),
    ("POST", "/api/v2/me/smssessions/nope", {"content": b"", "headers": AGENT}),
    ("POST", "/api/v2/me/smssessions/nope", {"content": b"[1]", "headers": AGENT}),
    ("POST", "/api/v2/me/smssessions/nope", {"json": {}, "headers": AGENT}),
    ("POST", "/api/v2/me/smssessions/nope", {"content": BIG, "headers": AGENT}),
    ("POST", "/api/v2/me/smssessions/nope", {"content": _chunks, "headers": AGENT}),
    ("POST", "/api/v2/smssessions/nope", {"json": {"operationName": "Accept"}}),
    ("POST", "/api/v2/smssessions/nope", {"json": {"operationName": "Accept"}, "headers": SCRIPTED}),
    ("POST", "/api/v2/smssessions/nope", {"json": {}, "headers": basic("agent1", "wrong")}),
    ("POST", "/api/v2/me/channels/fax", {"json": {"operationName": "Ready"}, "headers": AGENT}),
    ("POST", "/api/v2/me/channels/sms", {"json": {"operationName": "Dance"}, "headers": AGENT}),
    ("POST", "/api/v2/me/channels/sms", {"content": b"{", "headers": AGENT}),
    ("PUT", "/api/v2/me/smssessions/nope", {"json": {}, "headers": AGENT}),
    ("GET", "/api/v2/me/smssessions/nope", {"headers": AGENT}),
    ("HEAD", "/api/v2/me/channels/sms", {"headers": AGENT}),
    ("POST", "/api/v2/me/smssessions/", {"json": {}, "headers": AGENT}),
    ("POST", "/api/v2/channels/sms", {"json": {"operationName": "Ready"}, "headers": AGENT}),
    ("POST", "/sms/simulator/inbound", {"content": b"{"}),
    ("POST", "/sms/simulator/inbound", {"json": {"from": "+15551230001", "to": "+15550000000"}}),
    ("POST", "/sms/simulator/inbound", {"content": b"x" * 70_000}),
    ("GET", "/sms/simulator/inbound", {}),
]


async def _answer(api: Api, method: str, path: str, kw: dict[str, Any]) -> tuple[int, list[Any], bytes]:
    api.client.cookies.clear()
    kw = {**kw, "content": kw["content"]()} if callable(kw.get("content")) else kw
    r = await api.client.request(method, path, **kw)
    headers = sorted((k, v) for k, v in r.headers.multi_items() if k != "date")
    return r.status_code, headers, r.content


@pytest.mark.parametrize(("method", "path", "kw"), CASES)
async def test_the_dispatcher_answers_as_the_stack(
    api: Api, method: str, path: str, kw: dict[str, Any]
) -> None:
    assert isinstance(api.app, App) and api.app.hot is not None
    fast = await _answer(api, method, path, kw)
    hot, api.app.hot = api.app.hot, None
    try:
        slow = await _answer(api, method, path, kw)
    finally:
        api.app.hot = hot
    assert fast == slow
    assert fast[0] >= 300  # none of these changed anything (a trailing slash is redirected)


def test_what_the_dispatcher_serves(api: Api) -> None:
    hot = api.app.hot
    assert isinstance(hot, HotPaths)

    def served(method: str, path: str) -> bool:
        scope: dict[str, Any] = {"type": "http", "method": method, "path": path, "root_path": ""}
        return hot.match(scope) is not None

    for prefix in ("/api/v2/me", "/api/v2"):
        for seg in ("smssessions", "smsessions", "smsssession", "smssession", "smsession", "smsssessions"):
            assert served("POST", f"{prefix}/{seg}/0000Na9B26EF002X")
            assert not served("GET", f"{prefix}/{seg}/0000Na9B26EF002X")
            assert not served("POST", f"{prefix}/{seg}/0000Na9B26EF002X/messages")
            assert not served("POST", f"{prefix}/{seg}/")
    assert served("POST", "/api/v2/me/channels/sms")
    assert served("POST", "/sms/simulator/inbound")
    assert not served("POST", "/api/v2/channels/sms")
    assert not served("POST", "/api/v2/me")
    assert not served("GET", "/sms/simulator/outbound")
    with_root = {"type": "http", "method": "POST", "path": "/api/v2/me/channels/sms", "root_path": "/x"}
    assert hot.match(with_root) is None


async def _crash(request: Request) -> Response:
    raise RuntimeError("boom")


@pytest.mark.parametrize("path", ["/api/v2/me/crash", "/sms/crash"])
async def test_a_crash_in_a_hot_handler_is_the_internal_error_envelope(api: Api, path: str) -> None:
    hot = api.app.hot
    assert hot is not None
    hot.add(path, ["POST"], _crash)
    r = await api.client.post(path, json={}, headers=AGENT)
    assert r.status_code == 500
    assert r.json() == {
        "statusCode": 4,
        "statusMessage": "Internal error; the request did not change anything",
    }
    # the stack answers the same (and raises on to the server, which this transport swallows)
    api.app.router.routes.insert(0, Route(path, _crash, methods=["POST"]))
    api.app.hot = None
    transport = httpx.ASGITransport(app=api.app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        slow = await client.post(path, json={}, headers=AGENT)
    assert (slow.status_code, slow.json()) == (r.status_code, r.json())
    api.app.hot = hot
    assert (await api.post("/api/v2/me/channels/sms", {"operationName": "Ready"})).status_code == 200


def test_a_hot_path_has_at_most_one_parameter_at_its_end() -> None:
    hot = HotPaths.__new__(HotPaths)
    hot._exact, hot._param = {}, {}
    with pytest.raises(ValueError, match="not a hot path pattern"):
        hot.add("/api/v2/users/{user_id}/channels/{channel}", ["POST"], _crash)
    with pytest.raises(ValueError, match="not a hot path pattern"):
        hot.add("/api/v2/notifications/{tail:path}", ["POST"], _crash)


async def test_a_success_carries_the_same_headers(api: Api) -> None:
    ready = {"json": {"operationName": "Ready"}, "headers": AGENT}
    fast = await _answer(api, "POST", "/api/v2/me/channels/sms", ready)
    hot, api.app.hot = api.app.hot, None
    slow = await _answer(api, "POST", "/api/v2/me/channels/sms", ready)
    api.app.hot = hot
    assert fast == slow
    assert fast[0] == 200 and any(k == "set-cookie" for k, _ in fast[1])


async def test_a_websocket_endpoint_is_called_directly_for_its_exact_path(api: Api) -> None:
    hot = api.app.hot
    assert hot is not None
    seen: list[Any] = []

    async def endpoint(scope: Any, receive: Any, send: Any) -> None:
        seen.append(scope["app"])

    hot.add_websocket("/ws-test", endpoint)

    async def nothing() -> Any:
        return {"type": "websocket.disconnect"}

    async def ignore(message: Any) -> None:
        return None

    scope = {"type": "websocket", "path": "/ws-test", "root_path": "", "headers": [], "query_string": b""}
    await api.app(scope, nothing, ignore)
    assert seen == [api.app]
    assert hot.websocket({**scope, "path": "/ws-test/x"}) is None
    assert hot.websocket({**scope, "root_path": "/x"}) is None
