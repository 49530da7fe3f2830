"""The websocket transport (and long-poll disconnects) under a real uvicorn on 127.0.0.1, port 0."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import websockets
from websockets.asyncio.client import ClientConnection, connect

from smsdesk.clock import FakeClock
from smsdesk.notify.fakes import MemoryEventSource
from smsdesk.notify.hub import NotificationHub
from smsdesk.notify.settings import NotifySettings
from tests.notify.helpers import AGENT, basic, make_app, make_hub, serve

pytestmark = pytest.mark.timeout(15)
PATH = "/api/v2/notifications"


@pytest.fixture
async def hub(clock: FakeClock) -> NotificationHub:
    return make_hub(clock, NotifySettings(poll_interval_ms=0, max_queue=5, ws_send_timeout_ms=500))


@pytest.fixture
async def base(hub: NotificationHub) -> AsyncIterator[str]:
    async with serve(make_app(hub)) as url:
        yield url


def ws_url(base: str, tail: str = "") -> str:
    return base.replace("http", "ws") + PATH + tail


async def exchange(ws: ClientConnection, *messages: dict[str, Any]) -> list[dict[str, Any]]:
    await ws.send(json.dumps(list(messages)))
    reply: list[dict[str, Any]] = json.loads(await asyncio.wait_for(ws.recv(), 5))
    return reply


async def start(ws: ClientConnection, sub: str = "/v2/me/**", **hs: Any) -> str:
    [hello] = await exchange(
        ws, {"channel": "/meta/handshake", "supportedConnectionTypes": ["websocket"], **hs}
    )
    assert hello["successful"], hello
    cid: str = hello["clientId"]
    [first] = await exchange(ws, {"channel": "/meta/connect", "clientId": cid, "connectionType": "websocket"})
    assert first["successful"]
    [s] = await exchange(ws, {"channel": "/meta/subscribe", "clientId": cid, "subscription": sub})
    assert s["successful"]
    return cid


async def commit(hub: NotificationHub, data: dict[str, Any], channel: str = "/v2/me/channels") -> None:
    assert isinstance(hub.source, MemoryEventSource)
    event = hub.source.append(AGENT.user_id, channel, data)
    await hub.notify_committed(event.id, [AGENT.user_id])


async def test_basic_header_subscribe_receive_disconnect(base: str, hub: NotificationHub) -> None:
    async with connect(ws_url(base), additional_headers={"Authorization": basic("agent1")}) as ws:
        cid = await start(ws)
        await ws.send(
            json.dumps([{"channel": "/meta/connect", "clientId": cid, "connectionType": "websocket"}])
        )
        # While the connect is held, the socket still serves other messages.
        [sub] = await exchange(ws, {"channel": "/meta/subscribe", "clientId": cid, "subscription": "/v2/me"})
        assert sub["successful"]
        await commit(hub, {"messageType": "ChannelStateChangeMessageV2"})
        # Without the ack extension the event comes at once, in a frame of its own; the connect stays held.
        [event] = json.loads(await asyncio.wait_for(ws.recv(), 5))
        assert (
            event["channel"] == "/v2/me/channels"
            and event["data"]["messageType"] == "ChannelStateChangeMessageV2"
        )
        session = hub.bayeux.session(cid)
        assert session is not None and session.held is not None
        await ws.send(json.dumps([{"channel": "/meta/disconnect", "clientId": cid}]))
        [released] = json.loads(await asyncio.wait_for(ws.recv(), 5))
        assert released["channel"] == "/meta/connect" and released["advice"]["reconnect"] == "none"
        [bye] = json.loads(await asyncio.wait_for(ws.recv(), 5))
        assert bye["channel"] == "/meta/disconnect" and bye["successful"]


async def test_events_coalesce_into_one_frame_without_a_new_connect(base: str, hub: NotificationHub) -> None:
    async with connect(ws_url(base), additional_headers={"Authorization": basic("agent1")}) as ws:
        await start(ws)
        assert isinstance(hub.source, MemoryEventSource)
        last = [hub.source.append(AGENT.user_id, "/v2/me/channels", {"n": n}) for n in range(3)][-1]
        await hub.notify_committed(last.id, [AGENT.user_id])
        frame = json.loads(await asyncio.wait_for(ws.recv(), 5))
        assert [m["data"] for m in frame] == [{"n": 0}, {"n": 1}, {"n": 2}]
        await commit(hub, {"n": 3})
        [again] = json.loads(await asyncio.wait_for(ws.recv(), 5))
        assert again["data"] == {"n": 3}


async def test_with_the_ack_extension_events_travel_in_the_held_connect_reply(
    base: str, hub: NotificationHub
) -> None:
    async with connect(ws_url(base), additional_headers={"Authorization": basic("agent1")}) as ws:
        cid = await start(ws, ext={"ack": True})
        await ws.send(json.dumps([{"channel": "/meta/connect", "clientId": cid, "ext": {"ack": 0}}]))
        await asyncio.sleep(0.05)
        await commit(hub, {"n": 1})
        event, reply = json.loads(await asyncio.wait_for(ws.recv(), 5))
        assert event["data"] == {"n": 1}
        assert reply["channel"] == "/meta/connect" and reply["successful"] and "ack" in reply["ext"]


async def test_cookie_authenticates_the_upgrade_on_a_tail_path(base: str) -> None:
    async with connect(
        ws_url(base, "/connect"), additional_headers={"Cookie": "JSESSIONID=sess-agent1"}
    ) as ws:
        await start(ws)


async def test_unauthenticated_upgrade_is_refused_with_403(base: str) -> None:
    with pytest.raises(websockets.InvalidStatus) as info:
        async with connect(ws_url(base)):
            pass
    assert info.value.response.status_code == 403


async def test_bad_frame_gets_an_error_reply_and_the_socket_stays_open(base: str) -> None:
    async with connect(ws_url(base), additional_headers={"Authorization": basic("agent1")}) as ws:
        await ws.send("this is not json")
        [err] = json.loads(await asyncio.wait_for(ws.recv(), 5))
        assert err["successful"] is False and err["error"].startswith("400::")
        await start(ws)


async def test_client_moves_from_long_polling_to_websocket(base: str, hub: NotificationHub) -> None:
    async with httpx.AsyncClient(headers={"Authorization": basic("agent1")}) as http:
        r = await http.post(base + PATH, json=[{"channel": "/meta/handshake"}])
        cid = r.json()[0]["clientId"]
        await http.post(
            base + PATH, json=[{"channel": "/meta/subscribe", "clientId": cid, "subscription": "/v2/me/*"}]
        )
    await commit(hub, {"n": 1})
    await asyncio.sleep(0.05)
    async with connect(ws_url(base), additional_headers={"Authorization": basic("agent1")}) as ws:
        replies = await exchange(
            ws, {"channel": "/meta/connect", "clientId": cid, "connectionType": "websocket"}
        )
        assert replies[0]["data"] == {"n": 1}


async def test_socket_close_abandons_the_held_connect_and_keeps_events(
    base: str, hub: NotificationHub
) -> None:
    headers = {"Authorization": basic("agent1")}
    async with connect(ws_url(base), additional_headers=headers) as ws:
        cid = await start(ws)
        await ws.send(json.dumps([{"channel": "/meta/connect", "clientId": cid}]))
        await asyncio.sleep(0.1)
        session = hub.bayeux.session(cid)
        assert session is not None and session.held is not None
    for _ in range(100):
        if session.held is None:
            break
        await asyncio.sleep(0.01)
    assert session.held is None
    await commit(hub, {"n": 2})
    await asyncio.sleep(0.05)
    async with connect(ws_url(base), additional_headers=headers) as ws:
        replies = await exchange(ws, {"channel": "/meta/connect", "clientId": cid})
        assert replies[0]["data"] == {"n": 2}


async def test_longpoll_client_disconnect_releases_the_hold(base: str, hub: NotificationHub) -> None:
    async with httpx.AsyncClient(headers={"Authorization": basic("agent1")}) as http:
        r = await http.post(base + PATH, json=[{"channel": "/meta/handshake"}])
        cid = r.json()[0]["clientId"]
        await http.post(base + PATH, json=[{"channel": "/meta/connect", "clientId": cid}])
        held = asyncio.create_task(
            http.post(base + PATH, json=[{"channel": "/meta/connect", "clientId": cid}])
        )
        await asyncio.sleep(0.1)
        session = hub.bayeux.session(cid)
        assert session is not None and session.held is not None
        held.cancel()  # closes the TCP connection: the server sees http.disconnect
        with pytest.raises(asyncio.CancelledError):
            await held
    for _ in range(100):
        if session.held is None:
            break
        await asyncio.sleep(0.01)
    assert session.held is None


async def test_slow_websocket_reader_is_dropped_without_stalling_others(
    base: str, hub: NotificationHub
) -> None:
    """Ack clients get events only in connect replies. One never connects again: its queue fills
    (max_queue=5), it is dropped with handshake advice, and a second client on the same user keeps
    receiving."""
    headers = {"Authorization": basic("agent1")}
    async with (
        connect(ws_url(base), additional_headers=headers) as slow,
        connect(ws_url(base), additional_headers=headers) as fast,
    ):
        slow_id = await start(slow, ext={"ack": True})
        fast_id = await start(fast, ext={"ack": True})
        for i in range(8):
            await commit(hub, {"n": i})
            await asyncio.sleep(0.01)
            replies = await exchange(fast, {"channel": "/meta/connect", "clientId": fast_id})
            assert replies[0]["data"] == {"n": i}
        assert hub.bayeux.session(slow_id) is None  # dropped: more than max_queue events waiting
        [reply] = await exchange(slow, {"channel": "/meta/connect", "clientId": slow_id})
        assert reply["error"] == "402::Unknown client" and reply["advice"]["reconnect"] == "handshake"


async def test_held_websocket_connect_is_answered_at_its_deadline(
    base: str, hub: NotificationHub, clock: FakeClock
) -> None:
    async with connect(ws_url(base), additional_headers={"Authorization": basic("agent1")}) as ws:
        cid = await start(ws)
        await ws.send(json.dumps([{"channel": "/meta/connect", "clientId": cid, "id": "9"}]))
        for _ in range(100):
            session = hub.bayeux.session(cid)
            if session is not None and session.held is not None:
                break
            await asyncio.sleep(0.01)
        clock.advance(hub.settings.timeout_ms / 1000 + hub.settings.sweep_interval_ms / 1000)
        [reply] = json.loads(await asyncio.wait_for(ws.recv(), 5))
        assert reply == {"channel": "/meta/connect", "successful": True, "id": "9"}
