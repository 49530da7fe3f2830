"""Long-polling through Starlette in process (httpx ASGITransport) on the hub's fakes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager

from smsdesk.clock import FakeClock
from smsdesk.notify.fakes import MemoryEventSource
from smsdesk.notify.hub import NotificationHub
from smsdesk.notify.settings import NotifySettings
from tests.notify.helpers import AGENT, basic, make_app, make_hub

pytestmark = pytest.mark.timeout(10)
URL = "http://testserver/api/v2/notifications"


@pytest.fixture
async def hub(clock: FakeClock) -> NotificationHub:
    return make_hub(clock, NotifySettings(poll_interval_ms=0))


@pytest.fixture
async def http(hub: NotificationHub) -> AsyncIterator[httpx.AsyncClient]:
    app = make_app(hub)
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, headers={"Authorization": basic("agent1")}) as c:
            yield c


async def post(http: httpx.AsyncClient, body: Any, path: str = "", **kw: Any) -> list[dict[str, Any]]:
    r = await http.post(URL + path, json=body, **kw)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/json"
    data: list[dict[str, Any]] = r.json()
    assert data, "never an empty array"
    return data


async def handshake(http: httpx.AsyncClient) -> str:
    [reply] = await post(
        http,
        [{"channel": "/meta/handshake", "version": "1.0", "supportedConnectionTypes": ["long-polling"]}],
        "/handshake",
    )
    assert reply["successful"], reply
    cid: str = reply["clientId"]
    return cid


async def test_full_flow_with_message_type_suffixes(http: httpx.AsyncClient, hub: NotificationHub) -> None:
    r = await http.post(URL + "/handshake", json=[{"channel": "/meta/handshake", "id": "1"}])
    assert "BAYEUX_BROWSER=" in r.headers["set-cookie"] and "httponly" in r.headers["set-cookie"].lower()
    cid = r.json()[0]["clientId"]
    [first] = await post(
        http,
        [
            {
                "channel": "/meta/connect",
                "clientId": cid,
                "connectionType": "long-polling",
                "advice": {"timeout": 0},
                "id": "2",
            }
        ],
        "/connect",
    )
    assert first["successful"] and first["advice"]["timeout"] == 30_000
    [sub] = await post(
        http,
        [{"channel": "/meta/subscribe", "clientId": cid, "subscription": "/v2/me/channels", "id": "3"}],
        "/",
    )
    assert sub == {
        "channel": "/meta/subscribe",
        "successful": True,
        "id": "3",
        "subscription": "/v2/me/channels",
    }
    held = asyncio.create_task(
        post(http, [{"channel": "/meta/connect", "clientId": cid, "id": "4"}], "/connect")
    )
    await asyncio.sleep(0.05)
    assert not held.done()
    assert isinstance(hub.source, MemoryEventSource)
    event = hub.source.append(
        AGENT.user_id, "/v2/me/channels", {"messageType": "ChannelStateChangeMessageV2"}
    )
    await hub.notify_committed(event.id, [AGENT.user_id])
    event_msg, connect_reply = await held
    assert event_msg["data"] == {"messageType": "ChannelStateChangeMessageV2"}
    assert connect_reply == {"channel": "/meta/connect", "successful": True, "id": "4"}
    [bye] = await post(http, [{"channel": "/meta/disconnect", "clientId": cid, "id": "5"}], "/disconnect")
    assert bye["successful"]
    [after] = await post(http, [{"channel": "/meta/connect", "clientId": cid}])
    assert after["error"] == "402::Unknown client"


async def test_unauthenticated_handshake_is_refused(http: httpx.AsyncClient) -> None:
    for headers in ({"Authorization": basic("agent1", "wrong")}, {"Authorization": "Basic !!!"}):
        [reply] = await post(http, [{"channel": "/meta/handshake"}], headers=headers)
        assert reply["error"] == "403::Handshake denied"
        assert reply["advice"]["reconnect"] == "none"


async def test_session_cookie_authenticates(hub: NotificationHub) -> None:
    app = make_app(hub)
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, cookies={"JSESSIONID": "sess-agent1"}) as c:
            [reply] = await post(c, [{"channel": "/meta/handshake"}])
            assert reply["successful"]


async def test_batch_with_connect_and_subscribe_is_answered_at_once(http: httpx.AsyncClient) -> None:
    cid = await handshake(http)
    await post(http, [{"channel": "/meta/connect", "clientId": cid}])
    replies = await post(
        http,
        [
            {"channel": "/meta/connect", "clientId": cid},
            {"channel": "/meta/subscribe", "clientId": cid, "subscription": "/v2/me/*"},
        ],
    )
    assert [r["channel"] for r in replies] == ["/meta/connect", "/meta/subscribe"]


async def test_single_object_body_is_accepted(http: httpx.AsyncClient) -> None:
    [reply] = await post(http, {"channel": "/meta/handshake"})
    assert reply["successful"]


@pytest.mark.parametrize(
    "body",
    [b"not json", b"", b"[]", b"[1, 2]", b'"x"', b"[" + b'{"channel":"/meta/connect"},' * 300 + b"{}]"],
)
async def test_bad_bodies_are_http_400_with_a_reason(http: httpx.AsyncClient, body: bytes) -> None:
    r = await http.post(URL, content=body, headers={"content-type": "application/json"})
    assert r.status_code == 400
    assert r.json()[0]["error"].startswith("400::")


async def test_oversized_body_is_refused(http: httpx.AsyncClient) -> None:
    r = await http.post(
        URL, content=b"[" + b" " * 300_000 + b"]", headers={"content-type": "application/json"}
    )
    assert r.status_code == 413 and "too large" in r.json()[0]["error"]


async def test_a_chunked_body_is_refused_at_the_limit(http: httpx.AsyncClient) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b"["
        for _ in range(40):
            yield b" " * 10_000

    r = await http.post(URL, content=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 413 and "too large" in r.json()[0]["error"]


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/x-www-form-urlencoded"])
async def test_a_body_that_is_not_json_is_refused(http: httpx.AsyncClient, content_type: str | None) -> None:
    headers = {} if content_type is None else {"content-type": content_type}
    r = await http.post(URL, content=b'[{"channel":"/meta/handshake"}]', headers=headers)
    assert r.status_code == 415 and r.json()[0]["error"].startswith("415::")


async def test_deep_nesting_is_refused(http: httpx.AsyncClient) -> None:
    body = b'[{"channel":"/meta/handshake","ext":' + b"[" * 100 + b"]" * 100 + b"}]"
    r = await http.post(URL, content=body, headers={"content-type": "application/json"})
    assert r.status_code == 400 and "deeper" in r.json()[0]["error"]


async def test_get_is_not_allowed(http: httpx.AsyncClient) -> None:
    assert (await http.get(URL)).status_code == 405


async def test_held_connect_ends_when_the_client_disconnects(
    http: httpx.AsyncClient, hub: NotificationHub
) -> None:
    cid = await handshake(http)
    await post(http, [{"channel": "/meta/connect", "clientId": cid}])
    held = asyncio.create_task(http.post(URL, json=[{"channel": "/meta/connect", "clientId": cid}]))
    await asyncio.sleep(0.05)
    session = hub.bayeux.session(cid)
    assert session is not None and session.held is not None
    held.cancel()
    with pytest.raises(asyncio.CancelledError):
        await held
    for _ in range(50):
        if session.held is None:
            break
        await asyncio.sleep(0.01)
    assert session.held is None  # the hold was abandoned, the client may connect again
